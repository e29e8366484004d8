/**
 * The graph zoomed out, drawn on a canvas: when the labels are too small to read, thousands of DOM
 * boxes would make every frame of a pan or zoom slow, so the view hands them to this layer instead —
 * every task a rectangle in its state's colour, every edge a line, one path per colour, redrawn at
 * most once a frame when the viewport moves (the whole graph is drawn once into a bitmap at about the
 * zoom, and only copied while panning). Clicks reach the pane beneath (see GraphCanvas).
 */
import { useStoreApi, type Transform } from "@xyflow/react";
import { use, useEffect, useRef } from "react";
import { KIND } from "../groups.ts";
import { GraphMarksContext } from "./TaskNode.tsx";
import type { LayoutResult } from "./types.ts";
import { NODE_HEIGHT, NODE_WIDTH, type GraphShape } from "./useLayout.ts";
import type { TaskInstance } from "../../../live.ts";

/** The cached drawing's largest side and area (pixels): beyond, it is drawn smaller and scaled up. */
const MAX_SIDE = 12_000;
const MAX_AREA = 12_000_000;

export function Overview({ shape, layout }: { shape: GraphShape; layout: LayoutResult }) {
  const store = useStoreApi();
  const canvas = useRef<HTMLCanvasElement>(null);
  const { states, selected } = use(GraphMarksContext);
  useEffect(() => {
    let frame = 0;
    let cached: { scale: number; bitmap: HTMLCanvasElement } | undefined;
    const draw = () => {
      frame = 0;
      const el = canvas.current;
      if (!el) return;
      const transform = store.getState().transform;
      const scale = bitmapScale(transform[2], layout);
      if (cached?.scale !== scale)
        cached = { scale, bitmap: render(el, scale, shape, layout, states, selected) };
      blit(el, transform, cached.bitmap, scale);
    };
    const schedule = () => {
      if (!frame) frame = requestAnimationFrame(draw);
    };
    schedule();
    const unsubscribe = store.subscribe(schedule);
    return () => {
      unsubscribe();
      cancelAnimationFrame(frame);
    };
  }, [store, shape, layout, states, selected]);
  return <canvas ref={canvas} className="graph-overview" aria-hidden data-testid="graph-overview" />;
}

/**
 * The scale the whole graph is drawn at once (then only copied while panning): the zoom rounded up
 * to a power of two, so zooming redraws it only when the zoom doubles or halves, within the caps.
 */
function bitmapScale(zoom: number, layout: LayoutResult): number {
  const [w, h] = [Math.max(layout.width, 1), Math.max(layout.height, 1)];
  const cap = Math.min(MAX_SIDE / w, MAX_SIDE / h, Math.sqrt(MAX_AREA / (w * h)));
  return Math.min(cap, 2 ** Math.ceil(Math.log2(zoom * (window.devicePixelRatio || 1))));
}

function blit(el: HTMLCanvasElement, [tx, ty, zoom]: Transform, bitmap: HTMLCanvasElement, scale: number) {
  const dpr = window.devicePixelRatio || 1;
  const [w, h] = [el.clientWidth, el.clientHeight];
  if (el.width !== Math.round(w * dpr) || el.height !== Math.round(h * dpr)) {
    el.width = Math.round(w * dpr);
    el.height = Math.round(h * dpr);
  }
  const ctx = el.getContext("2d")!;
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, el.width, el.height);
  const k = (dpr * zoom) / scale;
  ctx.setTransform(k, 0, 0, k, dpr * tx, dpr * ty);
  ctx.drawImage(bitmap, 0, 0);
}

/** The whole graph at `scale`: edges as lines, then tasks as rectangles, one path per state colour. */
export function render(
  el: HTMLCanvasElement,
  scale: number,
  shape: GraphShape,
  layout: LayoutResult,
  states: Map<string, TaskInstance> | undefined,
  selected: string | null,
): HTMLCanvasElement {
  const bitmap = document.createElement("canvas");
  bitmap.width = Math.ceil(layout.width * scale) + 2;
  bitmap.height = Math.ceil(layout.height * scale) + 2;
  const ctx = bitmap.getContext("2d")!;
  ctx.setTransform(scale, 0, 0, scale, 0, 0);
  const { xs, ys } = layout;
  const css = getComputedStyle(el);
  const colour = new Map<string, string>();
  const colourOf = (state: string) => {
    let c = colour.get(state);
    if (!c) {
      c = css.getPropertyValue(`--state-${state}`).trim() || css.getPropertyValue("--state-none").trim();
      colour.set(state, c);
    }
    return c;
  };

  ctx.beginPath();
  const { edges } = shape;
  for (let e = 0; e < edges.length; e += 2) {
    const [s, t] = [edges[e]!, edges[e + 1]!];
    ctx.moveTo(xs[s]! + NODE_WIDTH, ys[s]! + NODE_HEIGHT / 2);
    ctx.lineTo(xs[t]!, ys[t]! + NODE_HEIGHT / 2);
  }
  ctx.strokeStyle = css.getPropertyValue("--muted").trim() || "#888";
  ctx.globalAlpha = 0.4;
  ctx.lineWidth = 1 / scale;
  ctx.stroke();
  ctx.globalAlpha = 1;

  // Expanded groups' frames, beneath the boxes.
  ctx.beginPath();
  for (let i = 0; i < shape.ids.length; i++)
    if (shape.kinds?.[i] === KIND.box) ctx.rect(xs[i]!, ys[i]!, layout.ws![i]!, layout.hs![i]!);
  ctx.lineWidth = 2 / scale;
  ctx.strokeStyle = css.getPropertyValue("--muted").trim() || "#888";
  ctx.stroke();

  const byColour = new Map<string, number[]>();
  for (let i = 0; i < shape.ids.length; i++) {
    if (shape.kinds?.[i] === KIND.box) continue;
    const c = colourOf(states?.get(shape.ids[i]!)?.state ?? "none");
    let list = byColour.get(c);
    if (!list) byColour.set(c, (list = []));
    list.push(i);
  }
  for (const [c, list] of byColour) {
    ctx.beginPath();
    for (const i of list) ctx.rect(xs[i]!, ys[i]!, NODE_WIDTH, NODE_HEIGHT);
    ctx.fillStyle = c;
    ctx.fill();
  }
  const s = selected ? shape.ids.indexOf(selected) : -1;
  if (s >= 0) {
    ctx.lineWidth = 3 / scale;
    ctx.strokeStyle = css.getPropertyValue("--accent").trim() || "#36f";
    ctx.strokeRect(xs[s]! - 4 / scale, ys[s]! - 4 / scale, NODE_WIDTH + 8 / scale, NODE_HEIGHT + 8 / scale);
  }
  return bitmap;
}

/** The node under a point of the graph (its index), for clicks on the zoomed-out drawing; never a frame. */
export function taskAt(shape: GraphShape, layout: LayoutResult, x: number, y: number): number | null {
  for (let i = 0; i < shape.ids.length; i++)
    if (
      shape.kinds?.[i] !== KIND.box &&
      x >= layout.xs[i]! &&
      x <= layout.xs[i]! + NODE_WIDTH &&
      y >= layout.ys[i]! &&
      y <= layout.ys[i]! + NODE_HEIGHT
    )
      return i;
  return null;
}
