import assert from "node:assert/strict";
import { test } from "node:test";
import { blockQuery, RUN_BLOCK } from "./block-query.ts";

/** The runs (as indexes from the oldest) a query returns from `total` runs sorted by run_after. */
function read(start: number, total: number): number[] {
  const { query, reversed } = blockQuery(start, total);
  const order = Array.from({ length: total }, (_, i) => i);
  if (query.order_by[0]!.startsWith("-")) order.reverse();
  const page = order.slice(query.offset, query.offset + query.limit);
  return reversed ? page.reverse() : page;
}

test("a block reads the same runs from either end; the newer half from the end, with a small offset", () => {
  const total = 100_007;
  for (const start of [0, 20, 50_000, 99_980, 100_000, 100_020])
    assert.deepEqual(
      read(start, total),
      Array.from({ length: Math.max(0, Math.min(RUN_BLOCK, total - start)) }, (_, i) => start + i),
      `block ${start}`,
    );
  const newest = blockQuery(100_000, total);
  assert.equal(newest.reversed, true);
  assert.equal(newest.query.offset, 0, "the newest block is the first page from the end");
  assert.ok(blockQuery(99_980, total).query.offset < RUN_BLOCK);
  assert.equal(blockQuery(20, total).query.offset, 20, "old blocks keep reading from the start");
});
