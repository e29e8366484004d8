/**
 * Airflow's TriggerDagRunOperator, run by the task runner (no user code): it triggers a run of
 * another DAG through the installation (here, the database: operations/trigger-run.ts; on a worker,
 * the Task Execution API), which also pushes the XComs trigger_run_id and trigger_logical_date for the
 * try, as Airflow pushes them before it waits. With waitForCompletion it then looks at the run every
 * pokeInterval in its slot, or defers on a DagRunTrigger and ends when its event comes (resume).
 *
 * A run that ends in failedStates fails the task as Airflow's AirflowException does: retries apply.
 */
import type { LogSink } from "../runner/bash-task.ts";
import { dagRunTrigger } from "../sdk/index.ts";
import type { TryFence } from "../storage/task-instances.ts";
import type { Result, Workload } from "./run-task-instance.ts";
import { abortableSleep } from "./sensor.ts";

export interface TriggerRequest {
  dagId: string;
  /** null: `manual__<logical date>`. */
  runId: string | null;
  /** ISO 8601; null: now. */
  logicalDate: string | null;
  conf: Record<string, unknown>;
  /** Clear an existing run with that id (it runs again) instead of failing. */
  resetDagRun: boolean;
}

export interface TriggeredRun {
  runId: string;
  logicalDate: string | null;
}

/** What a trigger_dagrun try asks of the installation, bound to the try (WorkloadRunner.dagRuns). */
export interface TryDagRuns {
  /** Creates the run (or clears it: resetDagRun) and pushes this try's trigger_* XComs. */
  trigger(request: TriggerRequest): Promise<TriggeredRun>;
  /** The run's state, or null when it does not exist (any more). */
  stateOf(dagId: string, runId: string): Promise<string | null>;
}

/** The database's side (TaskRunnerDeps.dagRunAccess): given by the layer that owns the operations. */
export interface DagRunAccess {
  trigger(caller: TryFence, request: TriggerRequest): Promise<TriggeredRun>;
  stateOf(dagId: string, runId: string): Promise<string | null>;
}

export function bindDagRuns(access: DagRunAccess, fence: TryFence): TryDagRuns {
  return {
    trigger: (request) => access.trigger(fence, request),
    stateOf: (dagId, runId) => access.stateOf(dagId, runId),
  };
}

interface TriggerFields {
  dagId: string;
  conf: Record<string, unknown>;
  logicalDate: string | null;
  triggerRunId: string | null;
  waitForCompletion: boolean;
  pokeInterval: number;
  deferrable: boolean;
  resetDagRun: boolean;
  allowedStates: string[];
  failedStates: string[];
}

export interface TriggerRun {
  dagRuns: TryDagRuns | undefined;
  log: LogSink;
  signal: AbortSignal;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export async function runTriggerDagRun(w: Workload, r: TriggerRun): Promise<Result> {
  const f = w.fields as unknown as TriggerFields;
  if (w.next?.method === "resume") return ended(f, { runId: "triggered" }, eventState(w.next.event), r.log);
  if (w.next?.method === "__fail__")
    return { state: "failed", reason: w.next.error ?? "the trigger's timeout passed", retryable: true };
  if (!r.dagRuns)
    return {
      state: "failed",
      reason: "triggerDagRun cannot create runs where this try runs (no access to the installation's runs)",
      retryable: false,
    };
  const triggered = await r.dagRuns.trigger({
    dagId: f.dagId,
    runId: f.triggerRunId,
    logicalDate: logicalDateOf(f.logicalDate),
    conf: f.conf ?? {},
    resetDagRun: f.resetDagRun,
  });
  r.log.write(`triggered dag "${f.dagId}": run "${triggered.runId}"\n`, "runner");
  if (!f.waitForCompletion) return { state: "success" };
  if (f.deferrable) {
    const states = [...f.allowedStates, ...f.failedStates];
    const trigger = dagRunTrigger({
      dagId: f.dagId,
      runId: triggered.runId,
      states,
      pokeInterval: f.pokeInterval,
    });
    return { state: "deferred", trigger: trigger.serialize(), timeout: null };
  }
  return pokeUntilEnded(f, triggered.runId, r);
}

/** Waits in the slot: looks at the run every pokeInterval until it is in allowed or failed states. */
async function pokeUntilEnded(f: TriggerFields, runId: string, r: TriggerRun): Promise<Result> {
  const sleep = r.sleep ?? abortableSleep;
  for (;;) {
    await sleep(f.pokeInterval * 1000, r.signal);
    if (r.signal.aborted) return { state: "failed", reason: "stopped while waiting", retryable: true };
    const state = await r.dagRuns!.stateOf(f.dagId, runId);
    if (state === null)
      return {
        state: "failed",
        reason: `run "${runId}" of dag "${f.dagId}" no longer exists`,
        retryable: true,
      };
    r.log.write(`waiting for dag "${f.dagId}" run "${runId}": it is ${state}\n`, "runner");
    if (f.failedStates.includes(state) || f.allowedStates.includes(state))
      return ended(f, { runId }, state, r.log);
  }
}

function ended(f: TriggerFields, run: { runId: string }, state: string | null, log: LogSink): Result {
  if (state !== null && f.failedStates.includes(state))
    return {
      state: "failed",
      reason: `dag "${f.dagId}" (run "${run.runId}") ended ${state}, one of failedStates ${JSON.stringify(f.failedStates)}`,
      retryable: true,
    };
  if (state !== null && f.allowedStates.includes(state)) {
    log.write(`dag "${f.dagId}" ended ${state}\n`, "runner");
    return { state: "success" };
  }
  return {
    state: "failed",
    reason: `dag "${f.dagId}" ended ${state ?? "in an unknown state"}, which is not one of allowedStates ${JSON.stringify(f.allowedStates)}`,
    retryable: true,
  };
}

/** The DagRunTrigger's event: `{ state }`. */
function eventState(event: unknown): string | null {
  const state = (event as { state?: unknown } | null | undefined)?.state;
  return typeof state === "string" ? state : null;
}

/** A rendered logical date: an instant as ISO, or null (now); anything else is refused. */
function logicalDateOf(value: string | null): string | null {
  if (value === null || value === "" || value === "None") return null;
  const at = new Date(value);
  if (Number.isNaN(at.getTime()))
    throw new Error(
      `logicalDate "${value}" is not a date: give an ISO 8601 instant or a template rendering one`,
    );
  return at.toISOString();
}
