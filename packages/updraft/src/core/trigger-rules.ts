/**
 * Airflow's trigger rules, same string names, and their evaluation (pure): the one copy the scheduler
 * (decide.ts, decide-downstream.ts) and "why is this task not running" (operations/explain) both use.
 */
import { isFinished } from "./states.ts";

export const TRIGGER_RULES = [
  "all_success",
  "all_failed",
  "all_done",
  "all_skipped",
  "one_success",
  "one_failed",
  "one_done",
  "none_failed",
  "none_failed_min_one_success",
  "none_skipped",
  "always",
  "all_done_setup_success",
  "all_done_min_one_success",
] as const;
export type TriggerRule = (typeof TRIGGER_RULES)[number];

/** Deprecated Airflow 2 names, accepted and normalised. */
export const TRIGGER_RULE_ALIASES: Record<string, TriggerRule> = {
  dummy: "always",
  none_failed_or_skipped: "none_failed_min_one_success",
};

export function normalizeTriggerRule(rule: string): TriggerRule | undefined {
  if ((TRIGGER_RULES as readonly string[]).includes(rule)) return rule as TriggerRule;
  return TRIGGER_RULE_ALIASES[rule];
}

export const WEIGHT_RULES = ["downstream", "upstream", "absolute"] as const;
export type WeightRule = (typeof WEIGHT_RULES)[number];

export interface UpstreamCounts {
  total: number;
  success: number;
  failed: number;
  upstreamFailed: number;
  skipped: number;
  removed: number;
  done: number;
  /** Of the upstream: how many are setup tasks, and how many of those succeeded or were skipped. */
  setups: number;
  setupSuccess: number;
  setupSkipped: number;
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
    case "all_done_setup_success":
      // A teardown: skipped when every setup was skipped, upstream_failed when none succeeded.
      if (!allDone || c.setups === 0) return null;
      return c.setupSkipped >= c.setups ? "skipped" : c.setupSuccess === 0 ? "upstream_failed" : null;
    case "all_done_min_one_success":
      // Airflow 3.1: a skipped upstream is not "done" for this rule, so any skip skips it.
      return c.skipped > 0 ? "skipped" : allDone && c.success === 0 ? "upstream_failed" : null;
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
      return allDone;
    case "all_done_setup_success":
      return allDone && (c.setups === 0 || c.setupSuccess > 0);
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
    case "all_done_min_one_success":
      return allDone && c.skipped === 0 && c.success > 0;
  }
}

/** `setups`: the DAG's setup tasks (counted apart for a teardown's rule). */
export function countUpstream(
  upstream: readonly string[],
  states: ReadonlyMap<string, string | readonly string[]>,
  setups: ReadonlySet<string> = NO_SETUPS,
): UpstreamCounts {
  // A mapped upstream task counts each of its instances, as Airflow counts task instances.
  let total = 0;
  for (const id of upstream) {
    const s = states.get(id);
    total += typeof s === "object" && s.length > 0 ? s.length : 1;
  }
  const c = emptyCounts(total);
  const count = (state: string, setup: boolean) => {
    tally(c, state, 1);
    if (!setup) return;
    c.setups++;
    if (state === "success") c.setupSuccess++;
    else if (state === "skipped") c.setupSkipped++;
  };
  for (const id of upstream) {
    const s = states.get(id) ?? "none";
    const setup = setups.has(id);
    if (typeof s === "string") count(s, setup);
    else if (s.length === 0) count("none", setup);
    else for (const state of s) count(state, setup);
  }
  return c;
}

const NO_SETUPS: ReadonlySet<string> = new Set();

/** The counts over `total` upstream task instances from how many are in each state. */
export function countStates(byState: Iterable<[string, number]>, total: number): UpstreamCounts {
  const c = emptyCounts(total);
  for (const [state, n] of byState) tally(c, state, n);
  return c;
}

function emptyCounts(total: number): UpstreamCounts {
  return {
    total,
    success: 0,
    failed: 0,
    upstreamFailed: 0,
    skipped: 0,
    removed: 0,
    done: 0,
    setups: 0,
    setupSuccess: 0,
    setupSkipped: 0,
  };
}

function tally(c: UpstreamCounts, s: string, n: number): void {
  if (s === "success") c.success += n;
  else if (s === "failed") c.failed += n;
  else if (s === "upstream_failed") c.upstreamFailed += n;
  else if (s === "skipped") c.skipped += n;
  else if (s === "removed") c.removed += n;
  if (isFinished(s)) c.done += n;
}
