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

/** Airflow's trigger-rule outcomes (see airflow-semantics.md): run, wait, or a state without running. */
export function evaluateRule(
  rule: TriggerRule,
  c: UpstreamCounts,
): "run" | "wait" | "skipped" | "upstream_failed" {
  if (c.total === 0 || rule === "always") return "run";
  const allDone = c.done >= c.total;
  const failedAny = c.failed + c.upstreamFailed > 0;
  switch (rule) {
    case "all_success":
      if (failedAny) return "upstream_failed";
      if (c.skipped > 0) return "skipped";
      return c.success === c.total ? "run" : "wait";
    case "all_failed":
      if (c.success + c.skipped > 0) return "skipped";
      return c.failed + c.upstreamFailed === c.total ? "run" : "wait";
    case "all_done":
      return allDone ? "run" : "wait";
    case "all_skipped":
      if (c.success + c.failed + c.upstreamFailed > 0) return "skipped";
      return c.skipped === c.total ? "run" : "wait";
    case "one_success":
      if (c.success > 0) return "run";
      if (!allDone) return "wait";
      return c.skipped === c.total ? "skipped" : "upstream_failed";
    case "one_failed":
      if (failedAny) return "run";
      return allDone ? "skipped" : "wait";
    case "one_done":
      if (c.success + c.failed > 0) return "run";
      return allDone ? "skipped" : "wait";
    case "none_failed":
      if (failedAny) return "upstream_failed";
      return allDone ? "run" : "wait";
    case "none_failed_min_one_success":
      if (failedAny) return "upstream_failed";
      if (!allDone) return "wait";
      return c.skipped === c.total ? "skipped" : "run";
    case "none_skipped":
      if (c.skipped > 0) return "skipped";
      return allDone ? "run" : "wait";
    case "all_done_setup_success":
      return allDone ? "run" : "wait";
  }
}

export function countUpstream(
  upstream: readonly string[],
  states: ReadonlyMap<string, TiState>,
): UpstreamCounts {
  const c: UpstreamCounts = {
    total: upstream.length,
    success: 0,
    failed: 0,
    upstreamFailed: 0,
    skipped: 0,
    removed: 0,
    done: 0,
  };
  for (const id of upstream) {
    const s = states.get(id) ?? "none";
    if (s === "success") c.success++;
    else if (s === "failed") c.failed++;
    else if (s === "upstream_failed") c.upstreamFailed++;
    else if (s === "skipped") c.skipped++;
    else if (s === "removed") c.removed++;
    if (DONE.has(s)) c.done++;
  }
  return c;
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
    const outcome = evaluateRule(task.triggerRule, countUpstream(task.upstream, states));
    if (outcome === "skipped" || outcome === "upstream_failed") {
      settled.set(task.taskId, outcome);
      states.set(task.taskId, outcome);
    } else if (outcome === "run" && mayStart(task.taskId)) ready.push(task.taskId);
  }
  return { ready, settled };
}
