/**
 * Setup and teardown tasks (Airflow's): which tasks of a DAG are setups, and which tasks decide a
 * run's state. A teardown is left out of the run's state unless it sets onFailureFailDagrun, and so is
 * a task whose only downstream are such teardowns: a failed work task followed by a teardown that
 * succeeds is a failed run, and a failing teardown does not fail a run whose work succeeded.
 */
import { reachable, upstreamOf } from "./graph.ts";
import { downstreamOf, type SerializedDag, type SerializedTask } from "./serialized.ts";

const setupsOf = new WeakMap<SerializedDag, ReadonlySet<string>>();
const leavesOf = new WeakMap<SerializedDag, readonly string[]>();

/** The DAG's setup tasks. */
export function setupIds(dag: SerializedDag): ReadonlySet<string> {
  let ids = setupsOf.get(dag);
  if (!ids) setupsOf.set(dag, (ids = new Set(dag.tasks.filter((t) => t.isSetup).map((t) => t.taskId))));
  return ids;
}

/** The tasks whose states decide the run's (Airflow's leaves for the run state). */
export function runStateLeaves(dag: SerializedDag): readonly string[] {
  let leaves = leavesOf.get(dag);
  if (leaves) return leaves;
  const down = downstreamOf(dag);
  const byId = new Map(dag.tasks.map((t) => [t.taskId, t]));
  const ignorable = (t: SerializedTask) => t.isTeardown === true && t.onFailureFailDagrun !== true;
  const effective = dag.tasks.filter(
    (t) => !ignorable(t) && (down.get(t.taskId) ?? []).every((id) => ignorable(byId.get(id)!)),
  );
  // A DAG of teardowns only: its plain leaves.
  leaves = (
    effective.length > 0 ? effective : dag.tasks.filter((t) => (down.get(t.taskId) ?? []).length === 0)
  ).map((t) => t.taskId);
  leavesOf.set(dag, leaves);
  return leaves;
}

/**
 * What clearing `taskIds` also clears (Airflow): each setup upstream of a cleared task whose
 * teardown lies downstream of it (or that has no teardown), with that setup's teardowns. Clearing
 * the work between a setup and its teardown runs all three again.
 */
export function relevantSetupsAndTeardowns(dag: SerializedDag, taskIds: Iterable<string>): Set<string> {
  const down = downstreamOf(dag);
  const up = upstreamOf(dag);
  const byId = new Map(dag.tasks.map((t) => [t.taskId, t]));
  const isTeardown = (id: string) => byId.get(id)?.isTeardown === true;
  const out = new Set<string>();
  for (const taskId of taskIds) {
    const downstreamTeardowns = new Set([...reachable([taskId], down)].filter(isTeardown));
    for (const id of reachable([taskId], up)) {
      if (byId.get(id)?.isSetup !== true) continue;
      const teardowns = (down.get(id) ?? []).filter(isTeardown);
      if (teardowns.length > 0 && !teardowns.some((t) => downstreamTeardowns.has(t))) continue;
      out.add(id);
      for (const t of teardowns) if (t !== taskId) out.add(t);
    }
  }
  return out;
}
