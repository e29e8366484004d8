/**
 * What a run's not-yet-started task instances should do now, from their upstream states and
 * trigger rules: run (become scheduled), become skipped / upstream_failed without running, or wait.
 * Applied to a fixed point, so skips and failures propagate down the graph in one pass.
 */
import { mappedGroupOf } from "../core/mapping.ts";
import { taskById, type SerializedDag, type SerializedTask } from "../core/serialized.ts";
import { setupIds } from "../core/setup-teardown.ts";
import { countUpstream, evaluateRule } from "../core/trigger-rules.ts";

export type TiState = string; // "none" | "scheduled" | ... as stored (null mapped to "none")

export interface Decision {
  /** Tasks that may run now (none -> scheduled). */
  ready: string[];
  /** Tasks that end without running. */
  settled: Map<string, "skipped" | "upstream_failed">;
  /** Instances of tasks of mapped task groups, decided one by one. */
  instances: { taskId: string; mapIndex: number; to: "scheduled" | "skipped" | "upstream_failed" }[];
}

/** The states of the expanded instances of tasks of mapped task groups, by task id and map index. */
export type IndexedStates = ReadonlyMap<string, ReadonlyMap<number, TiState>>;

/**
 * A run's task instance states by task id: one state, or for a mapped task the states of its
 * instances (a mapped task not yet expanded has the one state of its placeholder instance).
 */
export type RunStates = ReadonlyMap<string, TiState | readonly TiState[]>;

/** A task's instance states as a list. */
export function statesOf(states: RunStates, taskId: string): readonly TiState[] {
  const s = states.get(taskId);
  return s === undefined ? ["none"] : typeof s === "string" ? [s] : s;
}

/**
 * Decides every not-yet-started task of a run, propagating settled states to a fixed point. A task
 * is decided when any of its instances is unstarted; the decision holds for all of them (their
 * upstream is the same), as Airflow decides each mapped instance from the whole upstream.
 */
export function decideRun(
  dag: SerializedDag,
  current: RunStates,
  mayStart: (taskId: string) => boolean = () => true,
  indexed: IndexedStates = new Map(),
): Decision {
  const states = new Map<string, TiState | readonly TiState[]>(current);
  const byIndex = new Map([...indexed].map(([taskId, m]) => [taskId, new Map(m)]));
  const settled = new Map<string, "skipped" | "upstream_failed">();
  const ready: string[] = [];
  const instances: Decision["instances"] = [];
  // Tasks are stored in topological order, so one pass settles everything upstream first.
  for (const task of dag.tasks) {
    const own = statesOf(states, task.taskId);
    if (!own.includes("none")) continue;
    // A task held back by its previous run (dependsOnPast) neither runs nor settles yet (Airflow's
    // wait_for_past_depends_before_skipping).
    if (!mayStart(task.taskId)) continue;
    const group = mappedGroupOf(task);
    const mine = byIndex.get(task.taskId);
    if (group !== undefined && mine && [...mine.keys()].some((i) => i >= 0)) {
      decideInstances(dag, task, group, states, byIndex, instances);
      continue;
    }
    const outcome =
      task.upstream.length === 0
        ? "run"
        : evaluateRule(task.triggerRule, countUpstream(task.upstream, states, setupIds(dag)));
    if (outcome === "skipped" || outcome === "upstream_failed") {
      settled.set(task.taskId, outcome);
      states.set(
        task.taskId,
        own.map((s) => (s === "none" ? outcome : s)),
      );
    } else if (outcome === "run") ready.push(task.taskId);
  }
  return { ready, settled, instances };
}

/**
 * Each unstarted instance i of a task of a mapped task group, by its own upstream: instance i of
 * the group's tasks before it, and every instance of the tasks outside the group (Airflow's relevant
 * upstream map indexes).
 */
function decideInstances(
  dag: SerializedDag,
  task: SerializedTask,
  group: string,
  states: Map<string, TiState | readonly TiState[]>,
  byIndex: Map<string, Map<number, TiState>>,
  out: Decision["instances"],
): void {
  const mine = byIndex.get(task.taskId)!;
  const inGroup = task.upstream.filter((up) => mappedGroupOf(taskById(dag, up)?.task) === group);
  for (const [index, state] of mine) {
    if (state !== "none" || index < 0) continue;
    const view = new Map(states);
    for (const up of inGroup) view.set(up, byIndex.get(up)?.get(index) ?? "none");
    const outcome =
      task.upstream.length === 0
        ? "run"
        : evaluateRule(task.triggerRule, countUpstream(task.upstream, view, setupIds(dag)));
    if (outcome === "wait") continue;
    const to = outcome === "run" ? "scheduled" : outcome;
    out.push({ taskId: task.taskId, mapIndex: index, to });
    mine.set(index, to);
  }
  states.set(task.taskId, [...mine.values()]);
}
