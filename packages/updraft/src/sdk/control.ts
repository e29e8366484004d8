/**
 * What a running TypeScript task can use: its context, and errors that end it as skipped or as
 * failed without retries (Airflow's AirflowSkipException and AirflowFailException).
 */
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
 * The running task's context (ds, logical_date, params, ti, ...), as templates see it. Only defined
 * while a task runs; a worker runs one task at a time, so one slot is enough.
 */
export function getCurrentContext<T = Record<string, unknown>>(): T {
  const context = (globalThis as Record<symbol, unknown>)[CONTEXT_SLOT];
  if (context === undefined)
    throw new Error("getCurrentContext() is only available while a task runs, inside its function");
  return context as T;
}

/** For the task runner: sets (or clears, with undefined) the context getCurrentContext returns. */
export function setCurrentContext(context: unknown): void {
  (globalThis as Record<symbol, unknown>)[CONTEXT_SLOT] = context;
}
