/** Which runs a grid block reads (pure, so it is tested without a browser). */

/** Runs per block of columns. */
export const RUN_BLOCK = 20;

/**
 * Where a block's runs are read from: blocks in the newer half are read newest first (a small offset
 * from the end, then reversed), so the newest block of a DAG with 100,000 runs does not make the
 * database step over 99,980 rows.
 */
export function blockQuery(start: number, total: number) {
  const fromEnd = total - start - RUN_BLOCK;
  if (start < total / 2 || fromEnd < -RUN_BLOCK)
    return { query: { limit: RUN_BLOCK, offset: start, order_by: ["run_after", "id"] }, reversed: false };
  return {
    query: {
      limit: RUN_BLOCK + Math.min(0, fromEnd),
      offset: Math.max(0, fromEnd),
      order_by: ["-run_after", "-id"],
    },
    reversed: true,
  };
}
