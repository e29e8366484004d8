/**
 * Calling one TaskFlow task's function, in whatever process holds its DAG: a TaskFlow worker
 * (taskflow-worker.ts), or the DAG file's own process under `dag.test()` (taskflow-in-process.ts).
 * This is the one place that finds the function, gives it its context and lookups, calls it with its
 * arguments (upstream XComs already in place) and says how it ended; and the one place that turns
 * that ending into the task runner's outcome. Both paths share it, so a task behaves the same in both.
 */
import {
  deferralOf,
  isDag,
  OutletEvents,
  setCurrentContext,
  setLookup,
  taskContext,
  taskControlOf,
  type Dag,
  type OutletEventsWire,
  type TriggerSpec,
} from "../sdk/index.ts";
import { callbackList, runCallbacks, type CallbackOutcome } from "../sdk/callbacks.ts";
import type { Callback, CallbackContext } from "../sdk/callback-types.ts";
import { sendTaskAlertEmail } from "../sdk/email.ts";
import type { TaskCallbackEvent } from "../core/serialized.ts";
import type { LogSink } from "./bash-task.ts";
import type { TaskFlowOutcome } from "./taskflow-pool.ts";
import type { LookupKind, TaskCallbackCall, VariableWrite, VariableWritten } from "./taskflow-protocol.ts";

/** How a task's function ended (the shape a worker sends back). */
export type TaskCallEnd =
  | { outcome: "success"; value: unknown; outletEvents?: OutletEventsWire }
  | { outcome: "deferred"; trigger: TriggerSpec; timeout: number | null }
  | { outcome: "skipped" | "failed" | "fail_now"; message: string; stack: string | null };

export interface TaskCall {
  /** Arguments with upstream XCom values already in place. */
  args: unknown[];
  /** The plain context values the runner sent (getCurrentContext() builds var, conn, macros on them). */
  context: Record<string, unknown>;
  lookup: (what: LookupKind, key: string) => Promise<unknown>;
  write: (variable: VariableWrite) => Promise<VariableWritten>;
  /** Runs the task's onExecute callbacks, after the function is found and before it is called. */
  onExecute?: () => Promise<unknown>;
}

type TaskFn = (...args: unknown[]) => unknown;

/** The DAG named `dagId` among a module's exports (arrays of DAGs included), or undefined. */
export function findDag(exports: Record<string, unknown>, dagId: string): Dag | undefined {
  const candidates = Object.values(exports).flatMap((v) => (Array.isArray(v) ? v : [v]));
  const dag = candidates.find((v) => isDag(v) && v.dagId === dagId);
  return dag && isDag(dag) ? dag : undefined;
}

/**
 * The function of TypeScript task `taskId` of `dag`; throws when it has none. After a defer()
 * (`resume` given): its `resume` option called with the event first, or, without one, the event.
 */
export function taskFnOf(dag: Dag, taskId: string, resume?: { event: unknown }): TaskFn {
  const task = dag.getTask(taskId);
  const fn = task?.fn;
  if (!fn) throw new Error(`dag "${dag.dagId}" has no TypeScript task "${taskId}"`);
  if (!resume) return fn;
  const then = task.resume;
  return then ? (...args: unknown[]) => then(resume.event, ...args) : () => resume.event;
}

/**
 * Calls the function `find` gives with the call's arguments, its context and lookups set for the
 * time of the call (one task at a time per process: getCurrentContext() has one slot).
 */
export async function callTask(find: () => Promise<TaskFn> | TaskFn, call: TaskCall): Promise<TaskCallEnd> {
  const outlets = new OutletEvents();
  setCurrentContext({ ...taskContext(call.context), outlet_events: outlets });
  setLookup(call.lookup, call.write);
  try {
    const fn = await find();
    // Its failure is only logged (runCallbacks never throws): the task runs all the same.
    await call.onExecute?.();
    const value = await fn(...call.args);
    const outletEvents = outlets.toWire();
    return {
      outcome: "success",
      value: value === undefined ? null : value,
      ...(outletEvents ? { outletEvents } : {}),
    };
  } catch (error) {
    const deferral = deferralOf(error);
    if (deferral) return { outcome: "deferred", ...deferral };
    const control = taskControlOf(error);
    const outcome = control === "skip" ? "skipped" : control === "fail" ? "fail_now" : "failed";
    const err = error instanceof Error ? error : new Error(String(error));
    return { outcome, message: err.message, stack: err.stack ?? null };
  } finally {
    setCurrentContext(undefined);
    setLookup(undefined);
  }
}

/** The runner's outcome of a call's end; a failure's stack goes to the task's log. */
export function outcomeOf(end: TaskCallEnd, log: LogSink): TaskFlowOutcome {
  if (end.outcome === "success")
    return {
      state: "success",
      value: end.value,
      ...(end.outletEvents ? { outletEvents: end.outletEvents } : {}),
    };
  if (end.outcome === "deferred") return { state: "deferred", trigger: end.trigger, timeout: end.timeout };
  if (end.stack) log.write(end.stack + "\n", "stderr");
  if (end.outcome === "skipped") return { state: "skipped", reason: end.message };
  return { state: "failed", reason: end.message, retryable: end.outcome !== "fail_now" };
}

/**
 * Runs the callbacks task `taskId` of `dag` has for one event (and its email alert), with the task's
 * context and lookups set as they are for the task itself, so getCurrentContext(), getConnection()
 * and getVariable() work inside them. Never throws: each outcome is logged and returned.
 */
export async function callTaskCallbacks(
  dag: Dag,
  taskId: string,
  call: TaskCallbackCall,
  io: Pick<TaskCall, "context" | "lookup" | "write"> & { log: (line: string) => void },
): Promise<CallbackOutcome[]> {
  const callbacks = taskCallbacks(dag, taskId, call, io.log);
  if (callbacks.length === 0) return [];
  const context: CallbackContext = {
    ...(taskContext(io.context) as CallbackContext),
    exception: call.exception,
  };
  io.log(`running ${callbacks.length} ${call.event} callback${callbacks.length === 1 ? "" : "s"}\n`);
  setCurrentContext(context);
  setLookup(io.lookup, io.write);
  try {
    return await runCallbacks(callbacks, context, {
      timeoutMs: call.timeoutMs,
      log: (line) => io.log(`${line.replace(/^callback /, `callback ${call.event}: `)}\n`),
    });
  } finally {
    setCurrentContext(undefined);
    setLookup(undefined);
  }
}

/** The task's callbacks for the event as the DAG file defines them now, then its email alert. */
function taskCallbacks(dag: Dag, taskId: string, call: TaskCallbackCall, log: (line: string) => void) {
  const options = dag.getTask(taskId)?.options as Record<TaskCallbackEvent, unknown> | undefined;
  let callbacks: Callback[] = [];
  try {
    callbacks = callbackList(options?.[call.event], { dagId: dag.dagId, taskId }, call.event);
  } catch (error) {
    // The file changed since it was parsed: say so, and still send the alert.
    log(`callback ${call.event}: ${(error as Error).message}\n`);
  }
  const email = call.email;
  if (email && email.to.length > 0)
    callbacks.push({
      notifier: `email${email.event === "failure" ? "OnFailure" : "OnRetry"}`,
      notify: (context) => sendTaskAlertEmail(email.event, email.to, context),
    });
  return callbacks;
}
