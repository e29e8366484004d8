/**
 * Graph order: a topological sort with ties broken by task id (so the serialized form is stable),
 * or, when the graph loops, one cycle in dependency order.
 */

/** `upstream` maps every task id to its direct upstream ids. */
export function topologicalOrder(
  upstream: ReadonlyMap<string, ReadonlySet<string>>,
): { order: string[]; cycle?: undefined } | { order?: undefined; cycle: string[] } {
  const downstream = new Map<string, string[]>([...upstream.keys()].map((id) => [id, []]));
  const waiting = new Map<string, number>();
  for (const [id, ups] of upstream) {
    waiting.set(id, ups.size);
    for (const up of ups) downstream.get(up)!.push(id);
  }
  const ready = [...upstream.keys()].filter((id) => waiting.get(id) === 0).sort(byId);
  const order: string[] = [];
  while (ready.length > 0) {
    const id = ready.shift()!;
    order.push(id);
    for (const down of downstream.get(id)!) {
      const left = waiting.get(down)! - 1;
      waiting.set(down, left);
      if (left === 0) insertSorted(ready, down);
    }
  }
  if (order.length === upstream.size) return { order };
  return { cycle: findCycle(upstream, new Set(order)) };
}

/**
 * Every task left unsorted has an unsorted upstream task, so walking upstream from one must
 * repeat a task: the walk from that repeat is a cycle. Returned downstream-first order, starting at
 * its smallest id and ending where it began: ["a", "b", "c", "a"].
 */
function findCycle(
  upstream: ReadonlyMap<string, ReadonlySet<string>>,
  sorted: ReadonlySet<string>,
): string[] {
  const left = [...upstream.keys()].filter((id) => !sorted.has(id)).sort(byId);
  const walk: string[] = [];
  const seenAt = new Map<string, number>();
  let id = left[0]!;
  while (!seenAt.has(id)) {
    seenAt.set(id, walk.length);
    walk.push(id);
    id = [...upstream.get(id)!].filter((up) => !sorted.has(up)).sort(byId)[0]!;
  }
  const loop = walk.slice(seenAt.get(id)).reverse();
  const start = loop.indexOf([...loop].sort(byId)[0]!);
  const rotated = [...loop.slice(start), ...loop.slice(0, start)];
  return [...rotated, rotated[0]!];
}

function byId(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function insertSorted(list: string[], id: string): void {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (byId(list[mid]!, id) < 0) lo = mid + 1;
    else hi = mid;
  }
  list.splice(lo, 0, id);
}
