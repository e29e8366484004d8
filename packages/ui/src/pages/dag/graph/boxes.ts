/**
 * Sizes of what the graph draws besides tasks: a group's join node is a dot, an expanded group a box
 * around what it holds. ELK nests boxes itself (elk.worker.ts); layouts that do not nest (the fast
 * layered one) lay the rest out and then draw each box around its contents (`withBoxes`).
 */
import { KIND } from "../groups.ts";
import type { LayoutRequest, LayoutResult } from "./types.ts";

export const JOIN_SIZE = 12;
/** Room inside a box: its label on top, a margin elsewhere. */
export const BOX_PAD = { top: 34, side: 14, bottom: 14 };

export function sizeOf(kind: number | undefined, request: LayoutRequest): [number, number] {
  return kind === KIND.join ? [JOIN_SIZE, JOIN_SIZE] : [request.nodeWidth, request.nodeHeight];
}

/** Lays out every node but the boxes with `layout`, then puts each box around its contents. */
export function withBoxes(request: LayoutRequest, layout: (r: LayoutRequest) => LayoutResult): LayoutResult {
  const { kinds, parents } = request;
  if (!kinds || !parents) return layout(request);
  const n = request.ids.length;
  const inner: number[] = [];
  const position = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) if (kinds[i] !== KIND.box) position[i] = inner.push(i) - 1;
  const edges: number[] = [];
  for (let e = 0; e < request.edges.length; e += 2) {
    const [s, t] = [position[request.edges[e]!]!, position[request.edges[e + 1]!]!];
    if (s >= 0 && t >= 0) edges.push(s, t);
  }
  const placed = layout({
    ...request,
    ids: inner.map((i) => request.ids[i]!),
    edges: Int32Array.from(edges),
    kinds: undefined,
    parents: undefined,
  });
  const xs = new Float64Array(n);
  const ys = new Float64Array(n);
  const ws = new Float64Array(n);
  const hs = new Float64Array(n);
  inner.forEach((i, p) => {
    [ws[i], hs[i]] = sizeOf(kinds[i], request);
    // A join node sits in the middle of the slot laid out for it.
    xs[i] = placed.xs[p]! + (request.nodeWidth - ws[i]!) / 2;
    ys[i] = placed.ys[p]! + (request.nodeHeight - hs[i]!) / 2;
  });
  // Inner boxes come after the box holding them (the order the structure is walked in): from the end.
  const bounds = Array.from({ length: n }, () => [Infinity, Infinity, -Infinity, -Infinity]);
  for (let i = n - 1; i >= 0; i--) {
    if (kinds[i] === KIND.box) {
      const [x0, y0, x1, y1] = bounds[i]!;
      const empty = !Number.isFinite(x0!);
      xs[i] = empty ? 0 : x0! - BOX_PAD.side;
      ys[i] = empty ? 0 : y0! - BOX_PAD.top;
      ws[i] = empty ? request.nodeWidth : x1! - x0! + 2 * BOX_PAD.side;
      hs[i] = empty ? request.nodeHeight : y1! - y0! + BOX_PAD.top + BOX_PAD.bottom;
    }
    const p = parents[i]!;
    if (p < 0) continue;
    const b = bounds[p]!;
    b[0] = Math.min(b[0]!, xs[i]!);
    b[1] = Math.min(b[1]!, ys[i]!);
    b[2] = Math.max(b[2]!, xs[i]! + ws[i]!);
    b[3] = Math.max(b[3]!, ys[i]! + hs[i]!);
  }
  return { ...placed, ...fit(xs, ys, ws, hs), ws, hs };
}

/** Moves everything so nothing is left of or above 0, and measures the whole. */
export function fit(xs: Float64Array, ys: Float64Array, ws: Float64Array, hs: Float64Array) {
  let [minX, minY, maxX, maxY] = [Infinity, Infinity, -Infinity, -Infinity];
  for (let i = 0; i < xs.length; i++) {
    minX = Math.min(minX, xs[i]!);
    minY = Math.min(minY, ys[i]!);
    maxX = Math.max(maxX, xs[i]! + ws[i]!);
    maxY = Math.max(maxY, ys[i]! + hs[i]!);
  }
  if (!Number.isFinite(minX)) return { xs, ys, width: 0, height: 0 };
  for (let i = 0; i < xs.length; i++) {
    xs[i]! -= minX;
    ys[i]! -= minY;
  }
  return { xs, ys, width: maxX - minX, height: maxY - minY };
}
