/**
 * Deferral (Airflow's deferrable operators): a running task hands its wait to a trigger and its
 * process ends; a triggerer runs the trigger (a small async object, thousands per process) and, when
 * it fires, the task instance is scheduled again and resumes in a new process with the trigger's event.
 *
 * A trigger travels as a TriggerSpec: a classpath and JSON arguments. The built-in ones are made by
 * the factories below; a custom trigger is any object with `serialize()` (its classpath,
 * "<module>#<export>", names a module in the DAGs folder or a package) whose export the triggerer
 * constructs with the kwargs and runs (see docs/deferral.md).
 */
import { parseDuration, type DurationInput } from "../core/duration.ts";
import type { JsonValue } from "./json.ts";

/** A trigger as it is stored and sent: what to construct, and its JSON arguments. */
export interface TriggerSpec {
  /** A built-in trigger (`updraft.triggers.DateTimeTrigger`) or "<module>#<export>" for a custom one. */
  classpath: string;
  kwargs: Record<string, JsonValue>;
}

/** Anything a task can defer on: a trigger made here, or a custom trigger class's instance. */
export interface Trigger {
  /** Its classpath and arguments (Airflow's BaseTrigger.serialize()). */
  serialize(): TriggerSpec;
}

/**
 * What a custom trigger's class or object provides to the triggerer: an async generator of events.
 * The first event fires it (its payload, any JSON value, reaches the task's `resume`); a trigger
 * that ends without an event, or throws, fails the task instance.
 *
 * @example
 * ```ts
 * // dags/triggers/flag.ts
 * export class FlagTrigger implements Trigger, TriggerRun {
 *   readonly kwargs: { path: string };
 *   constructor(kwargs: { path: string }) {
 *     this.kwargs = kwargs;
 *   }
 *   serialize() { return { classpath: "triggers/flag.ts#FlagTrigger", kwargs: this.kwargs }; }
 *   async *run() {
 *     while (!existsSync(this.kwargs.path)) await new Promise((r) => setTimeout(r, 1000));
 *     yield { path: this.kwargs.path };
 *   }
 * }
 * ```
 */
export interface TriggerRun {
  run(): AsyncIterable<JsonValue>;
  /** Called when the trigger is no longer wanted (its task was cleared, or it moved to another triggerer). */
  cleanup?(): void | Promise<void>;
}

/** The built-in triggers' classpaths (Airflow's names, under `updraft.triggers`). */
export const TRIGGERS = {
  dateTime: "updraft.triggers.DateTimeTrigger",
  file: "updraft.triggers.FileTrigger",
  http: "updraft.triggers.HttpTrigger",
  sql: "updraft.triggers.SqlTrigger",
  externalTask: "updraft.triggers.ExternalTaskTrigger",
  dagRun: "updraft.triggers.DagRunTrigger",
} as const;

const spec = (classpath: string, kwargs: Record<string, JsonValue>): Trigger => {
  const frozen: TriggerSpec = { classpath, kwargs };
  return { serialize: () => frozen };
};

const seconds = (d: DurationInput) => parseDuration(d);

/** Fires at `moment` (a Date or an ISO 8601 instant), with the moment as its event. */
export function dateTimeTrigger(moment: Date | string): Trigger {
  const at = new Date(moment);
  if (Number.isNaN(at.getTime()))
    throw new RangeError(`dateTimeTrigger() takes a Date or an ISO 8601 instant, got ${String(moment)}`);
  return spec(TRIGGERS.dateTime, { moment: at.toISOString() });
}

/** Fires `delta` from now (Airflow's TimeDeltaTrigger: a DateTimeTrigger at now + delta). */
export function timeDeltaTrigger(delta: DurationInput): Trigger {
  return dateTimeTrigger(new Date(Date.now() + seconds(delta) * 1000));
}

/** Fires when a file matching `filepath` (a path or a glob) exists; polls every `pokeInterval`. */
export function fileTrigger(o: {
  filepath: string;
  recursive?: boolean;
  pokeInterval?: DurationInput;
}): Trigger {
  return spec(TRIGGERS.file, {
    filepath: o.filepath,
    recursive: o.recursive ?? false,
    pokeInterval: seconds(o.pokeInterval ?? 5),
  });
}

/**
 * Fires when an HTTP request answers 2xx (event: `{ status, body }`); polls every `pokeInterval`.
 * The endpoint is joined to the connection's host (default connection `http_default`).
 */
export function httpTrigger(o: {
  httpConnId?: string;
  endpoint?: string;
  method?: string;
  headers?: Record<string, string>;
  data?: string | null;
  pokeInterval?: DurationInput;
}): Trigger {
  return spec(TRIGGERS.http, {
    httpConnId: o.httpConnId ?? "http_default",
    endpoint: o.endpoint ?? "",
    method: (o.method ?? "GET").toUpperCase(),
    headers: o.headers ?? {},
    data: o.data ?? null,
    pokeInterval: seconds(o.pokeInterval ?? 5),
  });
}

/** Fires when `sql`'s first row's first cell is truthy (event: `{ row }`); polls every `pokeInterval`. */
export function sqlTrigger(o: { connId: string; sql: string; pokeInterval?: DurationInput }): Trigger {
  return spec(TRIGGERS.sql, { connId: o.connId, sql: o.sql, pokeInterval: seconds(o.pokeInterval ?? 5) });
}

/**
 * Fires when a task of another DAG's run (or the whole run, without taskId) reaches one of
 * `allowedStates` (event `{ status: "success" }`) or one of `failedStates` (`{ status: "failed" }`).
 */
export function externalTaskTrigger(o: {
  externalDagId: string;
  externalTaskId?: string | null;
  logicalDate: string;
  allowedStates?: string[];
  failedStates?: string[];
  pokeInterval?: DurationInput;
}): Trigger {
  return spec(TRIGGERS.externalTask, {
    externalDagId: o.externalDagId,
    externalTaskId: o.externalTaskId ?? null,
    logicalDate: o.logicalDate,
    allowedStates: o.allowedStates ?? ["success"],
    failedStates: o.failedStates ?? [],
    pokeInterval: seconds(o.pokeInterval ?? 5),
  });
}

/** Fires when the run `runId` of `dagId` ends in one of `states` (event `{ state }`). */
export function dagRunTrigger(o: {
  dagId: string;
  runId: string;
  states: string[];
  pokeInterval?: DurationInput;
}): Trigger {
  return spec(TRIGGERS.dagRun, {
    dagId: o.dagId,
    runId: o.runId,
    states: o.states,
    pokeInterval: seconds(o.pokeInterval ?? 5),
  });
}

const CONTROL = Symbol.for("updraft.task-control");

/** Thrown by defer(): the task's try hands its wait to a trigger (its runner records it as deferred). */
export class TaskDeferred extends Error {
  readonly [CONTROL] = "defer";
  readonly trigger: TriggerSpec;
  /** Seconds until the wait fails; null: no limit. */
  readonly timeout: number | null;
  constructor(trigger: TriggerSpec, timeout: number | null) {
    super(`deferred on ${trigger.classpath}`);
    this.name = "TaskDeferred";
    this.trigger = trigger;
    this.timeout = timeout;
  }
}

/** The deferral an error carries, across copies of the SDK (as taskControlOf). */
export function deferralOf(error: unknown): { trigger: TriggerSpec; timeout: number | null } | undefined {
  if (!error || typeof error !== "object") return undefined;
  const e = error as Record<symbol | string, unknown>;
  if (e[CONTROL] !== "defer") return undefined;
  return { trigger: e.trigger as TriggerSpec, timeout: (e.timeout as number | null) ?? null };
}

export interface DeferOptions {
  /** How long the wait may last before the task fails ("1h", "30s", seconds); default: no limit. */
  timeout?: DurationInput | null;
}

/**
 * Ends this try's process and waits on `trigger` without holding a worker slot: the task instance
 * is `deferred` until the trigger fires, then runs again (same try) calling the task's `resume`
 * option with the trigger's event (without `resume`, the event becomes the task's result).
 *
 * @example
 * ```ts
 * task("wait_then_load", () => defer(timeDeltaTrigger("10m"), { timeout: "1h" }), {
 *   resume: (event) => `resumed at ${event}`,
 * });
 * ```
 */
export function defer(trigger: Trigger, options: DeferOptions = {}): never {
  if (!trigger || typeof (trigger as Trigger).serialize !== "function")
    throw new TypeError(
      "defer() takes a trigger: e.g. timeDeltaTrigger('10m'), or an object with serialize() returning { classpath, kwargs }",
    );
  const s = trigger.serialize();
  if (!s || typeof s.classpath !== "string" || s.classpath === "")
    throw new TypeError(
      "a trigger's serialize() must return { classpath, kwargs } with a non-empty classpath",
    );
  const kwargs = JSON.parse(JSON.stringify(s.kwargs ?? {})) as Record<string, JsonValue>;
  const timeout = options.timeout === undefined || options.timeout === null ? null : seconds(options.timeout);
  throw new TaskDeferred({ classpath: s.classpath, kwargs }, timeout);
}
