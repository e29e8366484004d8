/** Graph helpers over the serialized form (pure). */
import type { SerializedDag } from "./serialized.ts";

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
