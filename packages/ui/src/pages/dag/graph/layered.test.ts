/** The fast layered layout on generated DAGs: every edge points right, no two boxes overlap. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { layeredLayout } from "./layered.ts";

/** A DAG of `n` tasks where each task depends on one to three earlier ones (seeded, repeatable). */
function randomDag(n: number, seed: number) {
  let s = seed;
  const next = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const edges: number[] = [];
  for (let t = 1; t < n; t++) {
    const ups = 1 + Math.floor(next() * 3);
    for (let k = 0; k < ups; k++) edges.push(Math.floor(next() * t), t);
  }
  return { ids: Array.from({ length: n }, (_, i) => `t${i}`), edges: Int32Array.from(edges) };
}

const size = { nodeWidth: 160, nodeHeight: 36, columnGap: 50, rowGap: 12 };

for (const n of [1, 2, 50, 2000]) {
  test(`${n} tasks: edges point right, boxes do not overlap, everything fits the reported size`, () => {
    const { ids, edges } = randomDag(n, n);
    const out = layeredLayout({ key: "k", ids, edges, ...size });
    assert.equal(out.xs.length, n);
    for (let e = 0; e < edges.length; e += 2)
      assert.ok(
        out.xs[edges[e + 1]!]! > out.xs[edges[e]!]!,
        `edge ${ids[edges[e]!]} -> ${ids[edges[e + 1]!]}`,
      );
    const byColumn = new Map<number, number[]>();
    for (let i = 0; i < n; i++) byColumn.set(out.xs[i]!, [...(byColumn.get(out.xs[i]!) ?? []), out.ys[i]!]);
    for (const ys of byColumn.values()) {
      ys.sort((a, b) => a - b);
      for (let i = 1; i < ys.length; i++) assert.ok(ys[i]! - ys[i - 1]! >= size.nodeHeight, "boxes overlap");
    }
    for (let i = 0; i < n; i++) {
      assert.ok(out.xs[i]! >= 0 && out.xs[i]! + size.nodeWidth <= out.width + 1e-6);
      assert.ok(out.ys[i]! >= 0 && out.ys[i]! + size.nodeHeight <= out.height + 1e-6);
    }
  });
}
