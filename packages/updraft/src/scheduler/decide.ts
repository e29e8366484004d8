/**
 * What a run's not-yet-started task instances should do now, from their upstream states and
 * trigger rules: run (become scheduled), become skipped / upstream_failed without running, or wait.
 * Applied to a fixed point, so skips and failures propagate down the graph in one pass.
 */
import type { SerializedDag } from "../core/serialized.ts";
import { setupIds } from "../core/setup-teardown.ts";
import { countUpstream, evaluateRule } from "../core/trigger-rules.ts";

export type TiState = string; // "none" | "scheduled" | ... as stored (null mapped to "none")

export interface Decision {
  /** Tasks that may run now (none -> scheduled). */
  ready: string[];
  /** Tasks that end without running. */
  settled: Map<string, "skipped" | "upstream_failed">;
}

/** Decides every not-yet-started task of a run, propagating settled states to a fixed point. */
export function decideRun(
  dag: SerializedDag,
  current: ReadonlyMap<string, TiState>,
  mayStart: (taskId: string) => boolean = () => true,
): Decision {
  const states = new Map(current);
  const settled = new Map<string, "skipped" | "upstream_failed">();
  const ready: string[] = [];
  // Tasks are stored in topological order, so one pass settles everything upstream first.
  for (const task of dag.tasks) {
    if ((states.get(task.taskId) ?? "none") !== "none") continue;
    // A task held back by its previous run (dependsOnPast) neither runs nor settles yet (Airflow's
    // wait_for_past_depends_before_skipping).
    if (!mayStart(task.taskId)) continue;
    const outcome =
      task.upstream.length === 0
        ? "run"
        : evaluateRule(task.triggerRule, countUpstream(task.upstream, states, setupIds(dag)));
    if (outcome === "skipped" || outcome === "upstream_failed") {
      settled.set(task.taskId, outcome);
      states.set(task.taskId, outcome);
    } else if (outcome === "run") ready.push(task.taskId);
  }
  return { ready, settled };
}
