/** Graph helpers over the serialized form (pure). */
import { downstreamOf, type SerializedDag } from "./serialized.ts";

/** Each task's depth: 0 for roots, else 1 + the deepest upstream. Tasks come topologically sorted. */
export function taskDepths(dag: SerializedDag): Map<string, number> {
  const depth = new Map<string, number>();
  for (const task of dag.tasks) {
    depth.set(
      task.taskId,
      task.upstream.reduce((d, up) => Math.max(d, (depth.get(up) ?? 0) + 1), 0),
    );
  }
  return depth;
}

/** Graphviz DOT, for `dags show --format dot | dot -Tpng`. */
export function toDot(dag: SerializedDag): string {
  const q = (s: string) => JSON.stringify(s);
  const lines = [`digraph ${q(dag.dagId)} {`, "  rankdir=LR;", "  node [shape=box, style=rounded];"];
  for (const task of dag.tasks)
    lines.push(`  ${q(task.taskId)} [label=${q(`${task.taskId}\n(${task.kind})`)}];`);
  for (const task of dag.tasks)
    for (const up of task.upstream) lines.push(`  ${q(up)} -> ${q(task.taskId)};`);
  lines.push("}");
  return lines.join("\n") + "\n";
}

/**
 * Airflow's effective priority: `downstream` (default) adds the weights of every task after this one,
 * `upstream` of every task before it, `absolute` only its own. Higher runs first.
 */
export function priorityWeights(dag: SerializedDag): Map<string, number> {
  const byId = new Map(dag.tasks.map((t) => [t.taskId, t]));
  const down = downstreamOf(dag);
  const up = upstreamOf(dag);
  const weights = new Map<string, number>();
  for (const task of dag.tasks) {
    const others =
      task.weightRule === "absolute"
        ? new Set<string>()
        : reachable([task.taskId], task.weightRule === "upstream" ? up : down);
    let total = task.priorityWeight;
    for (const id of others) total += byId.get(id)!.priorityWeight;
    weights.set(task.taskId, total);
  }
  return weights;
}

/** Each task's direct upstream ids (the mirror of `downstreamOf`). */
export function upstreamOf(dag: SerializedDag): Map<string, readonly string[]> {
  return new Map(dag.tasks.map((t) => [t.taskId, t.upstream]));
}

/**
 * The transitive closure: every task reachable from `starts` along `edges`, not counting a start
 * itself unless another start (or a cycle) leads back to it. The one walk behind clear's and mark's
 * upstream/downstream options, priority weights and a short-circuit's skips.
 */
export function reachable(
  starts: Iterable<string>,
  edges: ReadonlyMap<string, readonly string[]>,
): Set<string> {
  const seen = new Set<string>();
  const stack = [...starts].flatMap((s) => edges.get(s) ?? []);
  for (let id = stack.pop(); id !== undefined; id = stack.pop()) {
    if (seen.has(id)) continue;
    seen.add(id);
    stack.push(...(edges.get(id) ?? []));
  }
  return seen;
}

/** Every task after `taskId` (its downstream, transitively). */
export const allDownstream = (dag: SerializedDag, taskId: string) => reachable([taskId], downstreamOf(dag));
/** Every task before `taskId` (its upstream, transitively). */
export const allUpstream = (dag: SerializedDag, taskId: string) => reachable([taskId], upstreamOf(dag));
