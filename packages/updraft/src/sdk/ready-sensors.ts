/**
 * Ready-made sensors (Airflow's FileSensor, HttpSensor, SqlSensor, TimeSensor, DateTimeSensor,
 * TimeDeltaSensor, ExternalTaskSensor), each added to the DAG like bash(): its own options checked
 * here, the sensor options (sensors.ts) and task options next to them. Their checks run in the task's
 * process: what they wait for is read there (a file, an HTTP answer, a query) or asked of the runner
 * (another DAG's states: the task has no database). With `deferrable: true` each hands its wait to
 * the built-in trigger that watches the same thing, and checks once more when the trigger fires.
 *
 * Drivers (pg, mysql2) are imported when a check needs them, so the SDK stays free of I/O while a DAG
 * file is only being parsed.
 */
import { DateTime } from "luxon";
import { parseDuration, type DurationInput } from "../core/duration.ts";
import type { TaskContext } from "./context.ts";
import { FailTask, getCurrentContext, SkipTask } from "./control.ts";
import { currentBuilder } from "./builder.ts";
import { definitionError, describe, type Where } from "./fail.ts";
import type { XComArg } from "./handles.ts";
import type { JsonValue } from "./json.ts";
import {
  bodyOf,
  jsonCell,
  prepareRequest,
  sendRequest,
  sqlHook,
  type HttpResponse,
  type SqlParameters,
} from "./hooks.ts";
import { externalStates } from "./lookups.ts";
import { knownEntries, TASK_OPTION_KEYS } from "./options.ts";
import { report } from "./problems.ts";
import {
  addSensor,
  SENSOR_OPTION_KEYS,
  type PokeReturn,
  type SensorDefinition,
  type SensorOptions,
} from "./sensors.ts";
import {
  dateTimeTrigger,
  externalTaskTrigger,
  fileTrigger,
  httpTrigger,
  sqlTrigger,
  type Trigger,
} from "./triggers.ts";

type Fields = Record<string, unknown>;

interface Ready {
  check: SensorDefinition["check"];
  templateFields: Record<string, JsonValue>;
  trigger?: SensorDefinition["trigger"];
}

/**
 * Checks a ready-made sensor's options (its own `keys` and the sensor and task options; Airflow
 * spellings get their hint), builds its check from its own options, and adds it.
 */
function addReady<V>(
  label: string,
  taskId: string,
  options: unknown,
  keys: readonly string[],
  build: (own: Record<string, unknown>, where: Where) => Ready,
): XComArg<V> {
  const builder = currentBuilder(`${label}("${taskId}")`, taskId);
  const where = builder.where(taskId);
  const known = knownEntries(
    options ?? {},
    [...keys, ...TASK_OPTION_KEYS, ...SENSOR_OPTION_KEYS],
    `${label}() options`,
    where,
  );
  const own: Record<string, unknown> = {};
  const rest: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(known)) (keys.includes(key) ? own : rest)[key] = value;
  const ready = build(own, where);
  return addSensor<V>({ taskId, label, options: rest as SensorOptions, ...ready });
}

/** A required non-empty string option; reported (and "" returned) otherwise. */
function text(own: Record<string, unknown>, name: string, where: Where, example: string): string {
  const value = own[name];
  if (typeof value === "string" && value.trim() !== "") return value;
  report(
    definitionError(where, `${name} must be a non-empty string, got ${describe(value)}: write ${example}`),
  );
  return "";
}

function optionalText(own: Record<string, unknown>, name: string, where: Where): string | undefined {
  const value = own[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return value;
  report(definitionError(where, `${name} must be a string, got ${describe(value)}`));
  return undefined;
}

function flag(own: Record<string, unknown>, name: string, where: Where): boolean {
  const value = own[name];
  if (value !== undefined && typeof value !== "boolean")
    report(definitionError(where, `${name} must be true or false, got ${describe(value)}`));
  return value === true;
}

function callable<F>(
  own: Record<string, unknown>,
  name: string,
  where: Where,
  example: string,
): F | undefined {
  const value = own[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value === "function") return value as F;
  report(definitionError(where, `${name} must be a function, got ${describe(value)}: write ${example}`));
  return undefined;
}

/** A value as JSON for the task's template fields, or reported. */
function json(own: Record<string, unknown>, name: string, where: Where): JsonValue | undefined {
  const value = own[name];
  if (value === undefined) return undefined;
  try {
    const copy = JSON.parse(JSON.stringify(value)) as JsonValue;
    return copy;
  } catch {
    report(
      definitionError(
        where,
        `${name} must be JSON (strings, numbers, lists, objects), got ${describe(value)}`,
      ),
    );
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// fileSensor

export interface FileSensorOptions extends SensorOptions {
  /** A path or a glob (`/data/in/*.csv`, `/data/**\/_SUCCESS`); a template (`/data/{{ ds }}/done`). */
  filepath: string;
  /** Let `**` match any depth of folders (Airflow's recursive); without it `**` is `*`. Default false. */
  recursive?: boolean;
}

/**
 * Waits for a file (Airflow's FileSensor): done when `filepath`, a path or a glob, matches a file, or
 * a folder with a file somewhere inside. `filepath` is a template, rendered for each run. Relative
 * paths are read from the task's working folder: give absolute ones.
 *
 * @example
 * ```ts
 * fileSensor("wait_for_export", {
 *   filepath: "/data/exports/{{ ds }}/*.csv",
 *   pokeInterval: "1m", timeout: "6h", mode: "reschedule",
 * });
 * ```
 */
export function fileSensor(taskId: string, options: FileSensorOptions): XComArg<string> {
  return addReady("fileSensor", taskId, options, ["filepath", "recursive"], (own, where) => {
    const filepath = text(own, "filepath", where, 'filepath: "/data/ready.flag"');
    const recursive = flag(own, "recursive", where);
    return {
      templateFields: { filepath, recursive },
      check: async (_context, fields) => {
        const found = await findFile(String(fields.filepath), fields.recursive === true);
        if (found) console.log(`found ${found}`);
        return found ? { done: true, value: found } : false;
      },
      trigger: (fields, settings) =>
        fileTrigger({
          filepath: String(fields.filepath),
          recursive: fields.recursive === true,
          pokeInterval: settings.pokeInterval,
        }),
    };
  });
}

const GLOB = /[*?[\]{}]/;

/** The first file `pattern` matches (or a folder's first file inside), as Airflow's FileSensor looks. */
export async function findFile(pattern: string, recursive: boolean): Promise<string | undefined> {
  const fs = await import("node:fs/promises");
  const { join } = await import("node:path");
  // Python's glob without recursive=True reads ** as *.
  const paths: string[] = [];
  if (!GLOB.test(pattern)) paths.push(pattern);
  else for await (const p of fs.glob(recursive ? pattern : pattern.replace(/\*\*+/g, "*"))) paths.push(p);
  for (const path of paths.sort()) {
    const stat = await fs.stat(path).catch(() => undefined);
    if (!stat) continue;
    if (stat.isFile()) return path;
    if (stat.isDirectory()) {
      const entries = await fs.readdir(path, { recursive: true, withFileTypes: true });
      const file = entries.find((e) => e.isFile());
      if (file) return join(file.parentPath, file.name);
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// httpSensor

/** What an httpSensor's responseCheck receives: an httpHook answer. */
export type HttpSensorResponse = HttpResponse;

export interface HttpSensorOptions extends SensorOptions {
  /** The connection giving the base URL and credentials (host, schema, port, login, password). Default "http_default". */
  httpConnId?: string;
  /** The path after the connection's host (a template), or a whole URL. Default "". */
  endpoint?: string;
  /** Default "GET". */
  method?: string;
  /** Request headers (values are templates), on top of the connection's extra. */
  headers?: Record<string, string>;
  /** The request's data (templates): a GET's query parameters when an object, else the body (objects as JSON). */
  data?: string | Record<string, JsonValue> | null;
  /**
   * Decides from each answer, any status: true (done), false (not yet), or `{ done, value }`. Without
   * it a 2xx answer is done. When it throws on an answer that is not 2xx, that is a "not yet".
   */
  responseCheck?: (response: HttpSensorResponse, context: TaskContext) => PokeReturn | Promise<PokeReturn>;
  /** How long one request may take. Default "60s". */
  requestTimeout?: DurationInput;
}

const HTTP_KEYS = [
  "httpConnId",
  "endpoint",
  "method",
  "headers",
  "data",
  "responseCheck",
  "requestTimeout",
] as const;

/**
 * Waits for an HTTP endpoint (Airflow's HttpSensor): requests it every poke; a 2xx answer is done, any
 * other answer (or a refused connection) is "not yet", unless `responseCheck` decides. The base URL and
 * credentials (basic auth from login and password; extra as headers) come from the connection.
 *
 * @example
 * ```ts
 * // UPDRAFT_CONN_PARTNER_API='https://partner.example.com'
 * httpSensor("wait_for_report", {
 *   httpConnId: "partner_api",
 *   endpoint: "/reports/{{ ds }}",
 *   responseCheck: (r) => r.ok && r.json<{ status: string }>().status === "ready",
 *   pokeInterval: "5m", timeout: "12h",
 * });
 * ```
 */
export function httpSensor(taskId: string, options: HttpSensorOptions = {}): XComArg<unknown> {
  return addReady("httpSensor", taskId, options, HTTP_KEYS, (own, where) => {
    const httpConnId = optionalText(own, "httpConnId", where) ?? "http_default";
    const endpoint = optionalText(own, "endpoint", where) ?? "";
    const method = (optionalText(own, "method", where) ?? "GET").toUpperCase();
    const headers = json(own, "headers", where) ?? {};
    if (headers === null || typeof headers !== "object" || Array.isArray(headers))
      report(definitionError(where, `headers must be an object of strings, got ${describe(headers)}`));
    const data = json(own, "data", where) ?? null;
    const responseCheck = callable<HttpSensorOptions["responseCheck"]>(
      own,
      "responseCheck",
      where,
      "responseCheck: (response) => response.status === 200",
    );
    let timeout = 60;
    if (own.requestTimeout !== undefined) {
      try {
        timeout = parseDuration(own.requestTimeout as DurationInput);
      } catch (error) {
        report(definitionError(where, `requestTimeout: ${(error as Error).message}`));
      }
    }
    return {
      templateFields: { endpoint, method, headers, data },
      check: async (context, fields) => {
        const request = await prepareRequest(httpConnId, {
          method: String(fields.method ?? "GET"),
          endpoint: String(fields.endpoint ?? ""),
          data: fields.data,
          headers: (fields.headers ?? {}) as Record<string, string>,
        });
        console.log(`${request.method} ${request.url}`);
        let response: HttpSensorResponse;
        try {
          response = await sendRequest(request, timeout * 1000);
        } catch (error) {
          console.log(`no answer: ${(error as Error).message}`);
          return false;
        }
        console.log(`answered ${response.status}`);
        if (!responseCheck) return response.ok;
        try {
          return await responseCheck(response, context as TaskContext);
        } catch (error) {
          if (response.ok) throw error;
          console.log(`responseCheck threw on a ${response.status}: not yet (${(error as Error).message})`);
          return false;
        }
      },
      trigger: (fields, settings) =>
        httpTrigger({
          httpConnId,
          endpoint: String(fields.endpoint ?? ""),
          method: String(fields.method ?? "GET"),
          headers: (fields.headers ?? {}) as Record<string, string>,
          data: bodyOf(fields.data, String(fields.method ?? "GET")),
          pokeInterval: settings.pokeInterval,
        }),
    };
  });
}

// ---------------------------------------------------------------------------------------------
// sqlSensor

export interface SqlSensorOptions<T = unknown> extends SensorOptions {
  /** The connection to query: a postgres, mysql (or mariadb) or sqlite one. */
  connId: string;
  /** The query (a template); its first row's first cell decides. */
  sql: string;
  /** Query parameters: a list ($1 in PostgreSQL, ? in MySQL and SQLite), or named ones for SQLite. */
  parameters?: JsonValue[] | Record<string, JsonValue>;
  /** Done when this says so of the first cell. Default: the cell is truthy (not null, 0, "0", "", false). */
  success?: (value: T) => boolean | Promise<boolean>;
  /** Fails the task at once (no retries) when this says so of the first cell. */
  failure?: (value: T) => boolean | Promise<boolean>;
  /** No row at all fails the task instead of being a "not yet". Default false. */
  failOnEmpty?: boolean;
}

/**
 * Waits for a query's answer (Airflow's SqlSensor): runs `sql` on the connection every poke and reads
 * the first row's first cell. `failure(cell)` true fails the task now; `success(cell)` true (default:
 * a truthy cell) is done; no row is "not yet" (or a failure with `failOnEmpty`).
 *
 * @example
 * ```ts
 * sqlSensor("wait_for_partition", {
 *   connId: "warehouse",
 *   sql: "SELECT count(*) FROM loads WHERE day = '{{ ds }}'",
 *   success: (n) => Number(n) >= 24,
 *   failure: (n) => Number(n) < 0,
 *   pokeInterval: "10m", mode: "reschedule",
 * });
 * ```
 */
export function sqlSensor<T = unknown>(taskId: string, options: SqlSensorOptions<T>): XComArg<unknown> {
  const keys = ["connId", "sql", "parameters", "success", "failure", "failOnEmpty"];
  return addReady("sqlSensor", taskId, options, keys, (own, where) => {
    const connId = text(own, "connId", where, 'connId: "warehouse"');
    const sql = text(own, "sql", where, 'sql: "SELECT count(*) FROM t"');
    const parameters = json(own, "parameters", where);
    if (parameters !== undefined && (parameters === null || typeof parameters !== "object"))
      report(definitionError(where, `parameters must be a list or an object, got ${describe(parameters)}`));
    const success = callable<(v: unknown) => boolean>(own, "success", where, "success: (n) => n > 0");
    const failure = callable<(v: unknown) => boolean>(own, "failure", where, "failure: (n) => n < 0");
    const failOnEmpty = flag(own, "failOnEmpty", where);
    const fields: Record<string, JsonValue> = { sql };
    if (parameters !== undefined) fields.parameters = parameters;
    return {
      templateFields: fields,
      check: async (_context, f) => {
        const hook = sqlHook(connId, { readOnly: true });
        const rows = await hook
          .execute(String(f.sql), f.parameters as SqlParameters | undefined)
          .then((r) => r.rows)
          .finally(() => hook.close());
        if (rows.length === 0) {
          if (failOnEmpty) throw new FailTask("the query returned no row (failOnEmpty)");
          console.log("no row yet");
          return false;
        }
        const cell = rows[0]![0];
        console.log(`first cell: ${describe(cell)}`);
        if (failure && (await failure(cell)))
          throw new FailTask(`failure(${describe(cell)}) returned true: the failure criteria are met`);
        const done = success ? (await success(cell)) === true : truthy(cell);
        return done ? { done: true, value: jsonCell(cell) as JsonValue } : false;
      },
      trigger: (f, settings) =>
        sqlTrigger({ connId, sql: String(f.sql), pokeInterval: settings.pokeInterval }),
    };
  });
}

/** Truthy as Airflow's SqlSensor reads a cell; numbers that drivers return as text ("0") count as numbers. */
export function truthy(cell: unknown): boolean {
  if (typeof cell === "string") {
    const t = cell.trim();
    return t !== "" && !(/^[-+]?\d*\.?\d+(e[-+]?\d+)?$/i.test(t) && Number(t) === 0);
  }
  if (typeof cell === "bigint") return cell !== 0n;
  return Boolean(cell);
}

// ---------------------------------------------------------------------------------------------
// Time sensors

/** The DAG's timezone as the runner sends it (UTC from runners that did not). */
function zoneOf(context: TaskContext): string {
  return context.dag?.timezone || "UTC";
}

/** A time sensor's check and trigger: done once `target(context, fields)` has passed. */
function waitUntil(target: (context: TaskContext, fields: Fields) => Date): Pick<Ready, "check" | "trigger"> {
  return {
    check: (context, fields) => {
      const at = target(context as TaskContext, fields);
      if (Date.now() >= at.getTime()) return true;
      console.log(`waiting until ${at.toISOString()}`);
      return false;
    },
    // The trigger fires at the moment itself: the check after it is done.
    trigger: (fields) => dateTimeTrigger(target(getCurrentContext<TaskContext>(), fields)),
  };
}

export interface TimeSensorOptions extends SensorOptions {
  /** "HH:MM" or "HH:MM:SS", a wall-clock time in the DAG's timezone (or a template rendering one). */
  targetTime: string;
}

const TIME = /^([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$/;

/**
 * Waits until a time of day (Airflow's TimeSensor): `targetTime` in the DAG's timezone on the run's
 * date (the date its data interval ends, when a scheduled run starts; a manual run's logical date).
 *
 * @example
 * ```ts
 * timeSensor("after_market_close", { targetTime: "16:30", mode: "reschedule", pokeInterval: "5m" });
 * ```
 */
export function timeSensor(taskId: string, options: TimeSensorOptions): XComArg<unknown> {
  return addReady("timeSensor", taskId, options, ["targetTime"], (own, where) => {
    const targetTime = text(own, "targetTime", where, 'targetTime: "16:30"');
    if (targetTime && !targetTime.includes("{") && !TIME.test(targetTime))
      report(definitionError(where, `targetTime must be "HH:MM" or "HH:MM:SS", got ${describe(targetTime)}`));
    return {
      templateFields: { targetTime },
      ...waitUntil((context, fields) => timeOnRunDate(context, String(fields.targetTime))),
    };
  });
}

/** `time` on the run's date, both in the DAG's timezone. */
export function timeOnRunDate(context: TaskContext, time: string): Date {
  const zone = zoneOf(context);
  const moment = context.data_interval_end ?? context.logical_date;
  const day = DateTime.fromISO(moment, { zone }).toISODate();
  const at = DateTime.fromISO(`${day}T${time}`, { zone });
  if (!at.isValid) throw new Error(`targetTime "${time}" is not a time of day ("HH:MM" or "HH:MM:SS")`);
  return at.toJSDate();
}

export interface DateTimeSensorOptions extends SensorOptions {
  /** An ISO 8601 date-time (a template such as "{{ data_interval_end }}"); without an offset, in the DAG's timezone. */
  targetTime: string | Date;
}

/**
 * Waits until a moment (Airflow's DateTimeSensor): `targetTime`, an ISO date-time or a template
 * rendering one, read in the DAG's timezone when it has no offset.
 *
 * @example
 * ```ts
 * dateTimeSensor("two_hours_after_the_interval", {
 *   targetTime: "{{ macros.datetime.fromisoformat(data_interval_end).add(hours=2).isoformat() }}",
 *   deferrable: true,
 * });
 * ```
 */
export function dateTimeSensor(taskId: string, options: DateTimeSensorOptions): XComArg<unknown> {
  return addReady("dateTimeSensor", taskId, options, ["targetTime"], (own, where) => {
    if (own.targetTime instanceof Date) own.targetTime = own.targetTime.toISOString();
    const targetTime = text(own, "targetTime", where, 'targetTime: "2025-01-01T06:00:00Z"');
    if (targetTime && !targetTime.includes("{") && !DateTime.fromISO(targetTime).isValid)
      report(
        definitionError(
          where,
          `targetTime must be an ISO 8601 date-time or a template, got ${describe(targetTime)}`,
        ),
      );
    return {
      templateFields: { targetTime },
      ...waitUntil((context, fields) => {
        const value = String(fields.targetTime).trim();
        const at = DateTime.fromISO(value, { zone: zoneOf(context), setZone: true });
        if (!at.isValid) throw new Error(`targetTime rendered as "${value}", not an ISO 8601 date-time`);
        return at.toJSDate();
      }),
    };
  });
}

export interface TimeDeltaSensorOptions extends SensorOptions {
  /** How long after the run's data interval end: "1h", "90s" (a leading "-" for before). */
  delta: DurationInput;
}

/**
 * Waits until the run's data interval end plus `delta` (Airflow's TimeDeltaSensor): a daily run
 * with `delta: "2h"` waits until 02:00 after its day ended. A run without an interval counts from its
 * logical date.
 *
 * @example
 * ```ts
 * timeDeltaSensor("late_data_grace", { delta: "2h", deferrable: true });
 * ```
 */
export function timeDeltaSensor(taskId: string, options: TimeDeltaSensorOptions): XComArg<unknown> {
  return addReady("timeDeltaSensor", taskId, options, ["delta"], (own, where) => {
    const delta = signedDuration(own.delta, "delta", where, 'delta: "1h"');
    return {
      templateFields: {},
      ...waitUntil((context) => {
        const end = Date.parse(context.data_interval_end ?? context.logical_date);
        return new Date(end + delta * 1000);
      }),
    };
  });
}

/** Seconds of a duration that may be negative ("-1d"). */
function signedDuration(value: unknown, name: string, where: Where, example: string): number {
  if (value === undefined || value === null) {
    report(definitionError(where, `${name} is required: write ${example}`));
    return 0;
  }
  try {
    if (typeof value === "string" && value.trim().startsWith("-"))
      return -parseDuration(value.trim().slice(1));
    if (typeof value === "number") return value;
    return parseDuration(value as DurationInput);
  } catch (error) {
    report(definitionError(where, `${name}: ${(error as Error).message}`));
    return 0;
  }
}

// ---------------------------------------------------------------------------------------------
// externalTaskSensor

const TI_STATES = [
  "success",
  "failed",
  "skipped",
  "upstream_failed",
  "removed",
  "running",
  "queued",
  "scheduled",
  "up_for_retry",
  "up_for_reschedule",
  "deferred",
  "restarting",
  "none",
];
const RUN_STATES = ["success", "failed", "running", "queued"];

export interface ExternalTaskSensorOptions extends SensorOptions {
  /** The DAG to wait on (a template). */
  externalDagId: string;
  /** Its task to wait on (a template); without it (and without externalTaskIds), its whole run. */
  externalTaskId?: string | null;
  /** Several of its tasks, all of which must reach an allowed state. */
  externalTaskIds?: string[];
  /** Look at its run this long before this run's logical date ("1h"; "-1h" for after). Default: the same date. */
  executionDelta?: DurationInput;
  /** The logical date(s) to look at, from this run's logical date (ISO) and context. */
  executionDateFn?: (
    logicalDate: string,
    context: TaskContext,
  ) => string | Date | (string | Date)[] | Promise<string | Date | (string | Date)[]>;
  /** Done when every instance (or the run) is in one of these. Default ["success"]. */
  allowedStates?: string[];
  /** Fail now (no retries) when one is in one of these. Default []. */
  failedStates?: string[];
  /** End as skipped when one is in one of these. Default []. */
  skippedStates?: string[];
  /** Fail now when the DAG (or a task) does not exist, instead of waiting. Default false. */
  checkExistence?: boolean;
}

const EXTERNAL_KEYS = [
  "externalDagId",
  "externalTaskId",
  "externalTaskIds",
  "executionDelta",
  "executionDateFn",
  "allowedStates",
  "failedStates",
  "skippedStates",
  "checkExistence",
];

/**
 * Waits for another DAG's task, tasks, or whole run (Airflow's ExternalTaskSensor) at the same logical
 * date, or `executionDelta` before it, or the date(s) `executionDateFn` gives. Done when each is in
 * one of `allowedStates`; one in `failedStates` fails the sensor now (skipped with `softFail`), one in
 * `skippedStates` skips it. A run or task instance that does not exist yet is waited for.
 *
 * @example
 * ```ts
 * // This hourly DAG's run waits for the daily "ingest" DAG's "load" of the day before.
 * externalTaskSensor("wait_for_ingest", {
 *   externalDagId: "ingest",
 *   externalTaskId: "load",
 *   executionDelta: "1h",
 *   failedStates: ["failed", "upstream_failed"],
 *   mode: "reschedule",
 * });
 * ```
 */
export function externalTaskSensor(taskId: string, options: ExternalTaskSensorOptions): XComArg<unknown> {
  return addReady("externalTaskSensor", taskId, options, EXTERNAL_KEYS, (own, where) => {
    const externalDagId = text(own, "externalDagId", where, 'externalDagId: "ingest"');
    const externalTaskId = optionalText(own, "externalTaskId", where);
    let externalTaskIds: string[] | null = null;
    if (own.externalTaskIds !== undefined) {
      const ids = own.externalTaskIds;
      if (!Array.isArray(ids) || ids.length === 0 || ids.some((i) => typeof i !== "string" || i === ""))
        report(
          definitionError(
            where,
            `externalTaskIds must be a non-empty list of task ids, got ${describe(ids)}`,
          ),
        );
      else externalTaskIds = ids as string[];
      if (externalTaskId !== undefined)
        report(definitionError(where, "give externalTaskId or externalTaskIds, not both"));
    }
    const taskIds = externalTaskIds ?? (externalTaskId ? [externalTaskId] : null);
    const allowed = states(own, "allowedStates", ["success"], taskIds !== null, where);
    const failed = states(own, "failedStates", [], taskIds !== null, where);
    const skipped = states(own, "skippedStates", [], taskIds !== null, where);
    const overlap = allowed.filter((s) => failed.includes(s) || skipped.includes(s));
    if (overlap.length > 0)
      report(
        definitionError(
          where,
          `allowedStates and failedStates/skippedStates both have ${overlap.join(", ")}: a state is one or the other`,
        ),
      );
    const hasDelta = own.executionDelta !== undefined && own.executionDelta !== null;
    const delta = hasDelta
      ? signedDuration(own.executionDelta, "executionDelta", where, 'executionDelta: "1h"')
      : 0;
    const dateFn = callable<ExternalTaskSensorOptions["executionDateFn"]>(
      own,
      "executionDateFn",
      where,
      "executionDateFn: (ds) => new Date(Date.parse(ds) - 3600_000)",
    );
    if (hasDelta && dateFn)
      report(definitionError(where, "give executionDelta or executionDateFn, not both"));
    const checkExistence = flag(own, "checkExistence", where);
    const templateFields: Record<string, JsonValue> = { externalDagId };
    if (taskIds) templateFields.externalTaskIds = taskIds;

    const datesOf = async (context: TaskContext): Promise<string[]> => {
      const logical = context.logical_date;
      if (dateFn) {
        const got = await dateFn(logical, context);
        return (Array.isArray(got) ? got : [got]).map((d) => isoInstant(d, "executionDateFn"));
      }
      return [new Date(Date.parse(logical) - delta * 1000).toISOString()];
    };
    return {
      templateFields,
      check: async (context, fields) => {
        const dagId = String(fields.externalDagId);
        const ids = (fields.externalTaskIds as string[] | undefined) ?? null;
        const dates = await datesOf(context as TaskContext);
        const found = await externalStates({ dagId, taskIds: ids, logicalDates: dates });
        if (checkExistence && !found.dagExists)
          throw new FailTask(`the DAG "${dagId}" does not exist (checkExistence)`);
        const what = ids
          ? `task${ids.length > 1 ? "s" : ""} ${ids.join(", ")} of DAG "${dagId}"`
          : `DAG "${dagId}"`;
        console.log(`waiting for ${what} at ${dates.join(", ")} to be ${allowed.join(" or ")}`);
        const seen = ids
          ? found.taskInstances.map((t) => ({ at: t.logicalDate, id: t.taskId, state: t.state ?? "none" }))
          : found.runs.map((r) => ({ at: r.logicalDate, id: "", state: r.state }));
        const bad = seen.find((s) => failed.includes(s.state));
        if (bad)
          throw new FailTask(
            `${ids ? `task "${bad.id}"` : "the run"} of DAG "${dagId}" at ${bad.at} is ${bad.state} (one of failedStates)`,
          );
        const skip = seen.find((s) => skipped.includes(s.state));
        if (skip)
          throw new SkipTask(
            `${ids ? `task "${skip.id}"` : "the run"} of DAG "${dagId}" at ${skip.at} is ${skip.state} (one of skippedStates)`,
          );
        // Every (date, task) needs an instance, and every instance (each mapped one too) an allowed state.
        const wanted = dates.flatMap((at) => (ids ?? [""]).map((id) => `${at}\u0000${id}`));
        const done = wanted.every((key) => {
          const mine = seen.filter((s) => `${s.at}\u0000${s.id}` === key);
          return mine.length > 0 && mine.every((s) => allowed.includes(s.state));
        });
        if (!done)
          console.log(
            `now: ${seen.map((s) => `${s.id || "run"}@${s.at}=${s.state}`).join(", ") || "nothing yet"}`,
          );
        return done;
      },
      trigger: (fields, settings) => {
        const ids = (fields.externalTaskIds as string[] | undefined) ?? null;
        const context = getCurrentContext<TaskContext>();
        const logical = dateFn
          ? undefined
          : new Date(Date.parse(context.logical_date) - delta * 1000).toISOString();
        // The built-in trigger watches one task (or run) at one date: other waits check again at the poke interval.
        if (!logical || (ids && ids.length > 1))
          return dateTimeTrigger(new Date(Date.now() + settings.pokeInterval * 1000));
        return externalTaskTrigger({
          externalDagId: String(fields.externalDagId),
          externalTaskId: ids?.[0] ?? null,
          logicalDate: logical,
          allowedStates: allowed,
          failedStates: failed,
          pokeInterval: settings.pokeInterval,
        }) satisfies Trigger;
      },
    };
  });
}

function states(
  own: Record<string, unknown>,
  name: string,
  fallback: string[],
  ofTasks: boolean,
  where: Where,
): string[] {
  const value = own[name];
  if (value === undefined || value === null) return fallback;
  const valid = ofTasks ? TI_STATES : RUN_STATES;
  if (!Array.isArray(value) || value.some((s) => typeof s !== "string")) {
    report(definitionError(where, `${name} must be a list of states, got ${describe(value)}`));
    return fallback;
  }
  const wrong = (value as string[]).filter((s) => !valid.includes(s));
  if (wrong.length > 0)
    report(
      definitionError(
        where,
        `${name} has ${wrong.map((s) => `"${s}"`).join(", ")}, not a state of ${ofTasks ? "a task instance" : "a DAG run"}: valid: ${valid.join(", ")}`,
      ),
    );
  return value as string[];
}

function isoInstant(value: unknown, what: string): string {
  const date = value instanceof Date ? value : new Date(String(value));
  if (Number.isNaN(date.getTime())) throw new Error(`${what} returned ${describe(value)}, not a date`);
  return date.toISOString();
}
