/**
 * Task-instance states and the legal moves between them (Airflow's state machine). Every state change
 * goes through assertTransition, so an illegal one is an error, never a silent write.
 */
import { UpdraftError } from "./errors.ts";

export const TASK_INSTANCE_STATES = [
  "none",
  "scheduled",
  "queued",
  "running",
  "success",
  "failed",
  "skipped",
  "upstream_failed",
  "up_for_retry",
  "up_for_reschedule",
  "deferred",
  "restarting",
  "removed",
] as const;
export type TaskInstanceState = (typeof TASK_INSTANCE_STATES)[number];

export const FINISHED_STATES: readonly TaskInstanceState[] = [
  "success",
  "failed",
  "skipped",
  "upstream_failed",
  "removed",
];
const FINISHED_SET: ReadonlySet<string> = new Set(FINISHED_STATES);
/** True for a state no try will move on its own any more (stored strings welcome: "none" is unfinished). */
export const isFinished = (s: TaskInstanceState | string) => FINISHED_SET.has(s);

/** The states a depends-on-past task's previous instance must be in for it to run (Airflow's). */
export const PAST_SUCCESS_STATES: readonly TaskInstanceState[] = ["success", "skipped"];

/**
 * The states that hold a slot: they count against `parallelism`, `maxActiveTasks` and pools. Deferred
 * task instances hold a pool slot only when their pool says so (`include_deferred`, as in Airflow).
 */
/**
 * What occupies a slot of parallelism, of a DAG's maxActiveTasks and of a pool, defined once: task
 * instances whose process exists or is about to: queued (claimed, starting), running, and restarting
 * (cleared while running: its process is still being stopped).
 */
export const ACTIVE_STATES: readonly TaskInstanceState[] = ["queued", "running", "restarting"];
/** A pool created with include_deferred also counts its deferred task instances (Airflow's rule). */
export const poolSlotStates = (includeDeferred: boolean): TaskInstanceState[] =>
  includeDeferred ? [...ACTIVE_STATES, "deferred"] : [...ACTIVE_STATES];

/** A DAG run's states (Airflow's DagRunState); success and failed are final until a clear or a mark. */
export const RUN_STATES = ["queued", "running", "success", "failed"] as const;
export type RunState = (typeof RUN_STATES)[number];
export const FINISHED_RUN_STATES: readonly RunState[] = ["success", "failed"];
export const isRunFinished = (s: string) => (FINISHED_RUN_STATES as readonly string[]).includes(s);

const TRANSITIONS: Record<TaskInstanceState, readonly TaskInstanceState[]> = {
  none: ["scheduled", "skipped", "upstream_failed", "removed"],
  scheduled: ["queued", "none", "skipped", "removed"],
  queued: ["running", "scheduled", "failed", "none", "skipped"],
  // running -> scheduled: a try whose owner died is handed back (scheduler/rescue.ts).
  running: [
    "success",
    "failed",
    "skipped",
    "up_for_retry",
    "up_for_reschedule",
    "deferred",
    "restarting",
    "scheduled",
  ],
  up_for_retry: ["scheduled", "none", "skipped", "failed"],
  up_for_reschedule: ["scheduled", "none", "skipped", "failed"],
  deferred: ["scheduled", "failed", "none", "skipped"],
  restarting: ["none", "up_for_retry", "failed"],
  success: ["none"],
  failed: ["none"],
  skipped: ["none"],
  upstream_failed: ["none"],
  removed: ["none"],
};

export class IllegalTransitionError extends UpdraftError {
  constructor(from: string, to: string, where: { dagId: string; runId: string; taskId: string }) {
    super(
      "INVALID_INPUT",
      `task instance ${where.dagId}.${where.taskId} of run "${where.runId}" cannot go from ${from} to ${to}`,
    );
    this.name = "IllegalTransitionError";
  }
}

/**
 * Who moves a task instance: the system (scheduler, runner) follows TRANSITIONS; a user marking it by
 * hand (API, UI, CLI: Airflow's "mark success / failed / skipped") may set those three from any other
 * state, as Airflow allows. A running task marked by hand keeps its mark when its try ends.
 */
export type MovedBy = "system" | "user";
const USER_MARKS: readonly TaskInstanceState[] = ["success", "failed", "skipped"];

export function assertTransition(
  from: TaskInstanceState,
  to: TaskInstanceState,
  where: { dagId: string; runId: string; taskId: string },
  by: MovedBy = "system",
): void {
  if (TRANSITIONS[from]?.includes(to)) return;
  if (by === "user" && USER_MARKS.includes(to) && from !== to && TRANSITIONS[from]) return;
  throw new IllegalTransitionError(from, to, where);
}
