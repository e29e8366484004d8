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
export const isFinished = (s: TaskInstanceState) => FINISHED_STATES.includes(s);

const TRANSITIONS: Record<TaskInstanceState, readonly TaskInstanceState[]> = {
  none: ["scheduled", "skipped", "upstream_failed", "removed"],
  scheduled: ["queued", "none", "skipped", "removed"],
  queued: ["running", "scheduled", "failed", "none", "skipped"],
  running: ["success", "failed", "skipped", "up_for_retry", "up_for_reschedule", "deferred", "restarting"],
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

export function assertTransition(
  from: TaskInstanceState,
  to: TaskInstanceState,
  where: { dagId: string; runId: string; taskId: string },
): void {
  if (!TRANSITIONS[from]?.includes(to)) throw new IllegalTransitionError(from, to, where);
}
