/**
 * Task callbacks (issue 20; Airflow's on_*_callback, email_on_failure, email_on_retry), run by the
 * try's runner once its outcome is recorded: the runner of a try is the only one that runs them, after
 * its fenced write, so each fires once per event. They run in the DAG's TaskFlow worker (user code
 * never runs in the scheduler), with the try's context and lookups; each within `[core]
 * callback_timeout`, and the worker is replaced if they are all still running past their sum (a
 * synchronous loop cannot hold the slot for ever). A callback's failure is written to the try's log
 * and the service's log; it never changes the task's state, and nothing here throws.
 *
 * The serialized task says which events have callbacks and how many (core/serialized.ts): a task
 * without any costs nothing here.
 */
import type { TaskCallbackEvent } from "../core/serialized.ts";
import type { CallbackOutcome } from "../sdk/callbacks.ts";
import type { LogSink } from "../runner/bash-task.ts";
import { sudoUnsupported } from "../runner/taskflow-pool.ts";
import { impersonatedUser, resolveRunAs } from "../runner/impersonation.ts";
import type { TaskCallbackCall } from "../runner/taskflow-protocol.ts";
import type { Result, Workload, WorkloadRunner } from "./run-task-instance.ts";

/** What running callbacks needs beyond a workload's runner. */
export type CallbackRunner = WorkloadRunner & {
  /** `[core] callback_timeout`: each callback's limit in seconds (default 60). */
  callbackTimeout?: number;
  /** The service's log. */
  warn?: (fields: Record<string, unknown>, message: string) => void;
};

export const DEFAULT_CALLBACK_TIMEOUT = 60;
/** Loading the DAG file in the worker, on top of the callbacks' own limits. */
const LOAD_GRACE_SECONDS = 10;

/** The callbacks a recorded state calls for (undefined: none to run). */
export type CallbackPlan = Omit<TaskCallbackCall, "timeoutMs">;

/**
 * Which event a try's recorded state is, and whether its task has anything to run for it: success ->
 * onSuccess; failed -> onFailure (+ emailOnFailure); up_for_retry -> onRetry (+ emailOnRetry); a
 * skip the task made itself -> onSkipped. Refused, restarted, paused or handed-over tries call none.
 */
export function callbackPlan(
  task: Workload["task"],
  state: string,
  result: Result,
  handOver = false,
): CallbackPlan | undefined {
  const event = eventOf(state, result, handOver);
  if (!event) return undefined;
  const exception =
    event === "onFailure" || event === "onRetry"
      ? {
          message:
            "reason" in result ? result.reason : "the task failed as its result was recorded (see the log)",
          stack: null,
        }
      : null;
  const email = emailOf(task, event);
  if (!task.callbacks?.[event] && !email) return undefined;
  return { event, exception, email };
}

function eventOf(state: string, result: Result, handOver: boolean): TaskCallbackEvent | undefined {
  if (state === "success") return "onSuccess";
  if (state === "failed") return "onFailure";
  // A try stopped by its scheduler's shutdown runs again without using a retry: not a retry.
  if (state === "up_for_retry") return handOver ? undefined : "onRetry";
  if (state === "skipped" && result.state === "skipped") return "onSkipped";
  return undefined;
}

function emailOf(task: Workload["task"], event: TaskCallbackEvent): CallbackPlan["email"] {
  const to = task.email ?? [];
  if (to.length === 0) return null;
  if (event === "onFailure" && task.emailOnFailure) return { event: "failure", to };
  if (event === "onRetry" && task.emailOnRetry) return { event: "retry", to };
  return null;
}

/** Whether the task has onExecute callbacks (run right before its work starts). */
export function hasOnExecute(w: Workload): boolean {
  return (w.task.callbacks?.onExecute ?? 0) > 0 && w.next === undefined;
}

/** Each callback's limit in ms. */
export function callbackTimeoutMs(deps: Pick<CallbackRunner, "callbackTimeout">): number {
  return (deps.callbackTimeout ?? DEFAULT_CALLBACK_TIMEOUT) * 1000;
}

/**
 * Runs the plan's callbacks in a TaskFlow worker of the task's DAG, as the task's user; writes what
 * happened to the try's log and, for failures, the service's log. Never throws.
 */
export async function runTaskCallbacks(
  deps: CallbackRunner,
  w: Workload,
  plan: CallbackPlan,
  log: LogSink,
): Promise<CallbackOutcome[]> {
  const say = (text: string) => log.write(`callback ${plan.event}: ${text}\n`, "runner");
  try {
    const user = impersonatedUser(w.task.runAsUser, deps.defaultImpersonation ?? "");
    const runAs = user === undefined ? undefined : await resolveRunAs(user);
    if (runAs?.via === "sudo") {
      say(`not run: ${sudoUnsupported(runAs.user)}`);
      return [];
    }
    const timeoutMs = callbackTimeoutMs(deps);
    const count = (w.task.callbacks?.[plan.event] ?? 0) + (plan.email ? 1 : 0);
    const outcome = await deps.taskflow.run({
      request: {
        path: deps.resolveFile(w.fileloc),
        version: w.fileVersion,
        dagId: w.dagId,
        taskId: w.taskId,
        args: [],
        context: w.context,
        callbacks: { ...plan, timeoutMs },
      },
      memoryLimit: w.task.memoryLimit,
      // A worker still in them past every callback's limit is stuck (a synchronous loop): replaced.
      timeout: (count * timeoutMs) / 1000 + LOAD_GRACE_SECONDS,
      log,
      runAs,
      lookup: deps.lookup,
    });
    if (outcome.state !== "success") {
      say(
        `the callbacks did not finish (the task's state is unchanged): ${outcome.state === "failed" ? outcome.reason : outcome.state}`,
      );
      warn(deps, w, plan, [
        { name: "(the worker)", error: outcome.state === "failed" ? outcome.reason : outcome.state },
      ]);
      return [];
    }
    const outcomes = (outcome.value ?? []) as CallbackOutcome[];
    warn(
      deps,
      w,
      plan,
      outcomes.filter((o) => !o.ok),
    );
    return outcomes;
  } catch (error) {
    say(`the callbacks could not run (the task's state is unchanged): ${(error as Error).message}`);
    warn(deps, w, plan, [{ name: "(the runner)", error: (error as Error).message }]);
    return [];
  }
}

function warn(
  deps: CallbackRunner,
  w: Workload,
  plan: CallbackPlan,
  failed: { name: string; error?: string }[],
): void {
  for (const f of failed)
    deps.warn?.(
      {
        dagId: w.dagId,
        runId: w.runId,
        taskId: w.taskId,
        mapIndex: w.mapIndex,
        tryNumber: w.tryNumber,
        event: plan.event,
        callback: f.name,
        error: f.error,
      },
      "a task callback failed (the task's state is unchanged)",
    );
}
