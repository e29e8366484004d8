/**
 * What a running TypeScript task can use: its context, and errors that end it as skipped or as
 * failed without retries (Airflow's AirflowSkipException and AirflowFailException).
 */
import type { TaskContext } from "./context.ts";

const CONTEXT_SLOT = Symbol.for("updraft.task-context");
const CONTROL = Symbol.for("updraft.task-control");

/** Thrown by a task: it ends as skipped (its downstream tasks follow their trigger rules). */
export class SkipTask extends Error {
  readonly [CONTROL] = "skip";
  constructor(message = "skipped by the task") {
    super(message);
    this.name = "SkipTask";
  }
}

/** Thrown by a task: it fails now, whatever retries remain. */
export class FailTask extends Error {
  readonly [CONTROL] = "fail";
  constructor(message: string) {
    super(message);
    this.name = "FailTask";
  }
}

/** "skip", "fail" or undefined: works across copies of the SDK, like isDag. */
export function taskControlOf(error: unknown): "skip" | "fail" | undefined {
  const mark = error && typeof error === "object" ? (error as Record<symbol, unknown>)[CONTROL] : undefined;
  return mark === "skip" || mark === "fail" ? mark : undefined;
}

/**
 * The running task's context (ds, logical_date, params, ti, var, conn, macros, ...), as templates see
 * it (see TaskContext). Only defined while a task runs; a worker runs one task at a time, so one slot
 * is enough.
 *
 * @example
 * ```ts
 * const stamp = task("stamp", async () => {
 *   const { ds, ti, var: vars } = getCurrentContext();
 *   return `${ds} try ${ti.try_number} in ${await vars.value.get("region", "eu")}`;
 * });
 * ```
 */
export function getCurrentContext<T = TaskContext>(): T {
  const context = (globalThis as Record<symbol, unknown>)[CONTEXT_SLOT];
  if (context === undefined)
    throw new Error("getCurrentContext() is only available while a task runs, inside its function");
  return context as T;
}

/** For the task runner: sets (or clears, with undefined) the context getCurrentContext returns. */
export function setCurrentContext(context: unknown): void {
  (globalThis as Record<symbol, unknown>)[CONTEXT_SLOT] = context;
}
