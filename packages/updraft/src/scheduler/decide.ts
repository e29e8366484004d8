/**
 * What a run's not-yet-started task instances should do now, from their upstream states and
 * trigger rules: run (become scheduled), become skipped / upstream_failed without running, or wait.
 * Applied to a fixed point, so skips and failures propagate down the graph in one pass.
 */
import type { SerializedDag } from "../core/serialized.ts";
import type { TriggerRule } from "../core/trigger-rules.ts";

export type TiState = string; // "none" | "scheduled" | ... as stored (null mapped to "none")

export interface Decision {
  /** Tasks that may run now (none -> scheduled). */
  ready: string[];
  /** Tasks that end without running. */
  settled: Map<string, "skipped" | "upstream_failed">;
}

const DONE = new Set(["success", "failed", "skipped", "upstream_failed", "removed"]);

export interface UpstreamCounts {
  total: number;
  success: number;
  failed: number;
  upstreamFailed: number;
  skipped: number;
  removed: number;
  done: number;
}

/**
 * Airflow's trigger-rule evaluation over the counts of a task's direct upstream task instances: first
 * whether the rule settles the task without running (skipped / upstream_failed), then whether it may
 * run now; otherwise it waits. The caller runs tasks with no upstream at once.
 */
export function evaluateRule(
  rule: TriggerRule,
  c: UpstreamCounts,
): "run" | "wait" | "skipped" | "upstream_failed" {
  return settle(rule, c) ?? (passes(rule, c) ? "run" : "wait");
}

export function settle(rule: TriggerRule, c: UpstreamCounts): "skipped" | "upstream_failed" | null {
  const allDone = c.done >= c.total;
  const failedAny = c.failed + c.upstreamFailed > 0;
  switch (rule) {
    case "all_success":
      return failedAny ? "upstream_failed" : c.skipped > 0 ? "skipped" : null;
    case "all_failed":
      return c.success + c.skipped > 0 ? "skipped" : null;
    case "all_skipped":
      return c.success + c.failed + c.upstreamFailed > 0 ? "skipped" : null;
    case "one_success":
      if (!allDone) return null;
      return c.done === c.skipped ? "skipped" : c.success <= 0 ? "upstream_failed" : null;
    case "one_failed":
      return allDone && !failedAny ? "skipped" : null;
    case "one_done":
      return allDone && c.success + c.failed === 0 ? "skipped" : null;
    case "none_failed":
      return failedAny ? "upstream_failed" : null;
    case "none_failed_min_one_success":
      return failedAny ? "upstream_failed" : c.skipped === c.total ? "skipped" : null;
    case "none_skipped":
      return c.skipped > 0 ? "skipped" : null;
    default:
      return null;
  }
}

export function passes(rule: TriggerRule, c: UpstreamCounts): boolean {
  const allDone = c.done >= c.total;
  switch (rule) {
    case "always":
      return true;
    case "all_success":
      return c.total - c.success <= 0;
    case "all_failed":
      return c.total - c.failed - c.upstreamFailed <= 0;
    case "all_done":
    case "all_done_setup_success":
      return allDone;
    case "all_skipped":
      return c.total - c.skipped <= 0;
    case "one_success":
      return c.success > 0;
    case "one_failed":
      return c.failed + c.upstreamFailed > 0;
    case "one_done":
      return c.success + c.failed > 0;
    case "none_failed":
    case "none_failed_min_one_success":
      return c.total - c.success - c.skipped <= 0;
    case "none_skipped":
      return allDone && c.skipped === 0;
  }
}

export function countUpstream(
  upstream: readonly string[],
  states: ReadonlyMap<string, TiState>,
): UpstreamCounts {
  const c = emptyCounts(upstream.length);
  for (const id of upstream) tally(c, states.get(id) ?? "none", 1);
  return c;
}

/** The counts over `total` upstream task instances from how many are in each state. */
export function countStates(byState: Iterable<[TiState, number]>, total: number): UpstreamCounts {
  const c = emptyCounts(total);
  for (const [state, n] of byState) tally(c, state, n);
  return c;
}

function emptyCounts(total: number): UpstreamCounts {
  return { total, success: 0, failed: 0, upstreamFailed: 0, skipped: 0, removed: 0, done: 0 };
}

function tally(c: UpstreamCounts, s: TiState, n: number): void {
  if (s === "success") c.success += n;
  else if (s === "failed") c.failed += n;
  else if (s === "upstream_failed") c.upstreamFailed += n;
  else if (s === "skipped") c.skipped += n;
  else if (s === "removed") c.removed += n;
  if (DONE.has(s)) c.done += n;
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
        : evaluateRule(task.triggerRule, countUpstream(task.upstream, states));
    if (outcome === "skipped" || outcome === "upstream_failed") {
      settled.set(task.taskId, outcome);
      states.set(task.taskId, outcome);
    } else if (outcome === "run") ready.push(task.taskId);
  }
  return { ready, settled };
}
