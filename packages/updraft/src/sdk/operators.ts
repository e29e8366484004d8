/**
 * Ready-made operators. The cross-DAG ones (Airflow's TriggerDagRunOperator and ExternalTaskMarker)
 * run no user code: the task runner does their work (creating a run needs the database, which a
 * task's process never touches), so what they are is written here as template fields, rendered for
 * each try. http() and sql() (HttpOperator, SQLExecuteQueryOperator) do their work in the task's
 * process (a TaskFlow worker) on the hooks, with their template fields rendered for the try; the
 * email operator's rendered fields are sent from the task's process (sdk/email.ts) the same way.
 */
import { parseDuration, type DurationInput } from "../core/duration.ts";
import { currentBuilder, type DagBuilder } from "./builder.ts";
import type { TaskContext } from "./context.ts";
import { getCurrentContext } from "./control.ts";
import { sendEmail } from "./email.ts";
import { definitionError, describe, type Where } from "./fail.ts";
import { XComArg, type TaskHandle } from "./handles.ts";
import {
  httpHook,
  jsonCell,
  responseValue,
  sqlHook,
  type HttpRequestOptions,
  type HttpResponse,
  type SqlParameters,
  type SqlStatementInfo,
} from "./hooks.ts";
import type { JsonValue } from "./json.ts";
import { knownEntries, TASK_OPTION_KEYS, type TaskOptions } from "./options.ts";
import { report } from "./problems.ts";
import { addOperator, expandOperator, type MapInput, type MappedOperator, type Mapping } from "./tasks.ts";

/** triggerDagRun()'s options: Airflow's TriggerDagRunOperator's, camelCased, and every task's. */
export interface TriggerDagRunOptions extends TaskOptions {
  /** The DAG to trigger (templated). */
  dagId: string;
  /** The run's conf (templated: its strings are rendered). */
  conf?: Record<string, JsonValue>;
  /** The run's logical date: an ISO 8601 instant or a template (e.g. "{{ logical_date }}"); default now. */
  logicalDate?: string | Date;
  /** The run's id (templated); default `manual__<logical date>`, as Airflow. */
  triggerRunId?: string;
  /** Wait until the triggered run ends; it must end in allowedStates. Default false. */
  waitForCompletion?: boolean;
  /** Time between looks at the triggered run while waiting ("5s", seconds). Default 5 s. */
  pokeInterval?: DurationInput;
  /** Wait through the triggerer (deferred, no worker slot held) instead of in the slot. Default false. */
  deferrable?: boolean;
  /** When a run with this run id exists, clear it (it runs again) instead of failing. Default false. */
  resetDagRun?: boolean;
  /** The triggered run's states that end the wait with success. Default ["success"]. */
  allowedStates?: string[];
  /** The triggered run's states that fail this task. Default ["failed"]. */
  failedStates?: string[];
}

const TRIGGER_KEYS = [
  "dagId",
  "conf",
  "logicalDate",
  "triggerRunId",
  "waitForCompletion",
  "pokeInterval",
  "deferrable",
  "resetDagRun",
  "allowedStates",
  "failedStates",
] as const;

/** The XCom keys a trigger_dagrun task pushes (Airflow's XCOM_RUN_ID and XCOM_LOGICAL_DATE). */
export const TRIGGER_RUN_ID_XCOM = "trigger_run_id";
export const TRIGGER_LOGICAL_DATE_XCOM = "trigger_logical_date";

/**
 * Triggers a run of another DAG (Airflow's TriggerDagRunOperator), and with `waitForCompletion`
 * waits for it to end. The task pushes the run's id and logical date as the XComs `trigger_run_id`
 * and `trigger_logical_date`; the UI links the task to the run it triggered.
 *
 * @example
 * ```ts
 * triggerDagRun("start_report", {
 *   dagId: "report",
 *   conf: { day: "{{ ds }}" },
 *   waitForCompletion: true,
 *   pokeInterval: "10s",
 *   deferrable: true,
 * });
 * ```
 */
export function triggerDagRun(taskId: string, options: TriggerDagRunOptions): TaskHandle {
  const builder = currentBuilder(`triggerDagRun("${taskId}")`, taskId);
  const where = builder.where(taskId);
  const o = knownEntries(
    options ?? {},
    [...TASK_OPTION_KEYS, ...TRIGGER_KEYS],
    "triggerDagRun() options",
    where,
    { trigger_dag_id: "dagId", execution_date: "logicalDate" },
  ) as unknown as TriggerDagRunOptions;
  const own: Record<string, unknown> = { ...o };
  for (const key of TRIGGER_KEYS) delete own[key];
  return addOperator(builder, "trigger_dagrun", taskId, own as TaskOptions, triggerFields(o, where));
}

/** What the runner needs, as template fields (Airflow templates dag id, run id, logical date, conf). */
function triggerFields(o: TriggerDagRunOptions, where: Where): Record<string, JsonValue> {
  if (typeof o.dagId !== "string" || o.dagId === "")
    report(
      definitionError(where, `triggerDagRun() needs dagId, the DAG to trigger, got ${describe(o.dagId)}`),
    );
  if (o.conf !== undefined && (typeof o.conf !== "object" || o.conf === null || Array.isArray(o.conf)))
    report(definitionError(where, `conf must be an object, got ${describe(o.conf)}`));
  const fields: Record<string, JsonValue> = {
    dagId: typeof o.dagId === "string" ? o.dagId : "",
    conf: o.conf && typeof o.conf === "object" ? o.conf : {},
    logicalDate: dateField(o.logicalDate, where),
    triggerRunId: stringOrNull(o.triggerRunId, "triggerRunId", where),
    waitForCompletion: flag(o.waitForCompletion, "waitForCompletion", where),
    pokeInterval: duration(o.pokeInterval ?? 5, "pokeInterval", where),
    deferrable: flag(o.deferrable, "deferrable", where),
    resetDagRun: flag(o.resetDagRun, "resetDagRun", where),
    allowedStates: states(o.allowedStates ?? ["success"], "allowedStates", where),
    failedStates: states(o.failedStates ?? ["failed"], "failedStates", where),
  };
  return fields;
}

/** email()'s options: Airflow's EmailOperator's, camelCased, and every task's. */
export interface EmailOptions extends TaskOptions {
  /** Recipients: a list, or one string of addresses separated by commas or semicolons (templated). */
  to: string | string[];
  /** The subject (templated). */
  subject: string;
  /** The HTML body (templated; Airflow's html_content). */
  html: string;
  /** Paths of files to attach (templated). */
  files?: string[];
  cc?: string | string[];
  bcc?: string | string[];
  /** Sender (templated); default the connection's `from_email` extra, else `[smtp] smtp_mail_from`. */
  from?: string;
  /** The `smtp` connection; default `[email] email_conn_id` (`smtp_default`, else the [smtp] section). */
  connId?: string;
}

const EMAIL_KEYS = ["to", "subject", "html", "files", "cc", "bcc", "from", "connId"] as const;

/**
 * Sends an email (Airflow's EmailOperator) over the `smtp` connection. Every field is a template
 * rendered for each try (`{{ ds }}`, `{{ params.x }}`, `{{ ti.try_number }}`...); a failure to send
 * fails the try, which retries by the task's retries.
 *
 * @example
 * ```ts
 * email("send_report", {
 *   to: ["team@example.com"],
 *   subject: "Report for {{ ds }}",
 *   html: "<p>Attached: the report of {{ ds }}.</p>",
 *   files: ["/data/reports/{{ ds }}.csv"],
 * });
 * ```
 */
export function email(taskId: string, options: EmailOptions): TaskHandle {
  const builder = currentBuilder(`email("${taskId}")`, taskId);
  const where = builder.where(taskId);
  const o = knownEntries(options ?? {}, [...TASK_OPTION_KEYS, ...EMAIL_KEYS], "email() options", where, {
    html_content: "html",
    conn_id: "connId",
    from_email: "from",
  }) as unknown as EmailOptions;
  const own: Record<string, unknown> = { ...o };
  for (const key of EMAIL_KEYS) delete own[key];
  const handle = addOperator(builder, "email", taskId, own as TaskOptions, emailFields(o, where));
  // Runs in the task's process with the rendered fields (as a sensor's check does).
  builder.nodes.get(handle.taskId)!.fn = (async (fields: Record<string, unknown>) => {
    const f = fields as unknown as EmailOptions;
    await sendEmail(
      { to: f.to, subject: f.subject, html: f.html, cc: f.cc, bcc: f.bcc, files: f.files, from: f.from },
      f.connId ? { connId: f.connId } : {},
    );
    return null;
  }) as never;
  return handle;
}

function emailFields(o: EmailOptions, where: Where): Record<string, JsonValue> {
  const text = (name: "subject" | "html" | "from" | "connId", required: boolean): string | null => {
    const value = o[name];
    if (typeof value === "string" && (value !== "" || !required)) return value;
    if (value === undefined && !required) return null;
    report(definitionError(where, `email() needs ${name}, a string, got ${describe(value)}`));
    return "";
  };
  return {
    to: addresses(o.to, "to", where, true),
    subject: text("subject", true) ?? "",
    html: text("html", true) ?? "",
    files: addresses(o.files, "files", where, false),
    cc: addresses(o.cc, "cc", where, false),
    bcc: addresses(o.bcc, "bcc", where, false),
    from: text("from", false),
    connId: text("connId", false),
  };
}

function addresses(value: unknown, name: string, where: Where, required: boolean): string[] {
  if (value === undefined && !required) return [];
  if (typeof value === "string" && value !== "") return [value];
  if (Array.isArray(value) && value.every((v) => typeof v === "string") && (value.length > 0 || !required))
    return value as string[];
  report(
    definitionError(where, `email() needs ${name} as a string or a list of strings, got ${describe(value)}`),
  );
  return [];
}

/** ExternalTaskMarker's options (Airflow's, camelCased) and every task's. */
export interface ExternalTaskMarkerOptions extends TaskOptions {
  /** The DAG whose task is cleared with this one. */
  externalDagId: string;
  /** The task cleared (with its downstream) in that DAG's run of the same logical date. */
  externalTaskId: string;
  /** The logical date of the external run (templated). Default "{{ logical_date }}". */
  logicalDate?: string | Date;
  /** How many markers deep a clear may follow (a guard against cycles). Default 10. */
  recursionDepth?: number;
}

const MARKER_KEYS = ["externalDagId", "externalTaskId", "logicalDate", "recursionDepth"] as const;

/**
 * Marks a task of another DAG as depending on this one (Airflow's ExternalTaskMarker): it does
 * nothing when it runs, but clearing it (with downstream) clears the external DAG's task in the run
 * with the same logical date, with its downstream, and on through the markers there, up to
 * `recursionDepth` DAGs deep.
 *
 * @example
 * ```ts
 * const marker = externalTaskMarker("mark_report", { externalDagId: "report", externalTaskId: "wait" });
 * load >> marker;
 * ```
 */
export function externalTaskMarker(taskId: string, options: ExternalTaskMarkerOptions): TaskHandle {
  const builder = currentBuilder(`externalTaskMarker("${taskId}")`, taskId);
  const where = builder.where(taskId);
  const o = knownEntries(
    options ?? {},
    [...TASK_OPTION_KEYS, ...MARKER_KEYS],
    "externalTaskMarker() options",
    where,
  ) as unknown as ExternalTaskMarkerOptions;
  const own: Record<string, unknown> = { ...o };
  for (const key of MARKER_KEYS) delete own[key];
  for (const key of ["externalDagId", "externalTaskId"] as const)
    if (typeof o[key] !== "string" || o[key] === "")
      report(definitionError(where, `externalTaskMarker() needs ${key}, got ${describe(o[key])}`));
  const depth = o.recursionDepth ?? 10;
  if (!Number.isInteger(depth) || depth < 1)
    report(
      definitionError(where, `recursionDepth must be a whole number of at least 1, got ${describe(depth)}`),
    );
  return addOperator(builder, "external_task_marker", taskId, own as TaskOptions, {
    externalDagId: typeof o.externalDagId === "string" ? o.externalDagId : "",
    externalTaskId: typeof o.externalTaskId === "string" ? o.externalTaskId : "",
    logicalDate: dateField(o.logicalDate, where) ?? "{{ logical_date }}",
    recursionDepth: Number.isInteger(depth) && depth >= 1 ? depth : 10,
  });
}

function dateField(value: string | Date | undefined, where: Where): string | null {
  if (value === undefined || value === null) return null;
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) report(definitionError(where, "logicalDate is an invalid Date"));
    return Number.isNaN(value.getTime()) ? null : value.toISOString();
  }
  if (typeof value !== "string" || value === "") {
    report(
      definitionError(
        where,
        `logicalDate must be an ISO 8601 instant, a Date or a template, got ${describe(value)}`,
      ),
    );
    return null;
  }
  return value;
}

function stringOrNull(value: unknown, name: string, where: Where): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === "string" && value !== "") return value;
  report(definitionError(where, `${name} must be a non-empty string, got ${describe(value)}`));
  return null;
}

function flag(value: unknown, name: string, where: Where): boolean {
  if (value !== undefined && typeof value !== "boolean")
    report(definitionError(where, `${name} must be true or false, got ${describe(value)}`));
  return value === true;
}

function duration(value: DurationInput, name: string, where: Where): number {
  try {
    const seconds = parseDuration(value);
    if (seconds > 0) return seconds;
    report(definitionError(where, `${name} must be more than 0, got ${describe(value)}`));
  } catch (error) {
    report(definitionError(where, `${name}: ${(error as Error).message}`));
  }
  return 5;
}

function states(value: unknown, name: string, where: Where): string[] {
  if (Array.isArray(value) && value.every((s) => typeof s === "string")) return value as string[];
  report(definitionError(where, `${name} must be a list of run states, got ${describe(value)}`));
  return [];
}

// ---------------------------------------------------------------------------------------------
// http() and sql(): operators whose work runs in the task's process, on the hooks (hooks.ts)

/** How http() and sql() tasks map (`http.partial(...).expand(...)`): see expandOperator. */
const MAPPED: Record<"http" | "sql", MappedOperator> = {
  http: { kind: "http", example: 'expand({ endpoint: ["/a", "/b"] })', required: null },
  sql: {
    kind: "sql",
    example: 'expand({ sql: ["DELETE FROM a", "DELETE FROM b"] })',
    required: { field: "sql", what: "sql" },
  },
};

/**
 * Adds an operator whose function runs in a TaskFlow worker with the task's rendered fields; with a
 * `mapping`, one instance per element, each with its element's fields over `templateFields`.
 */
function addWorking(
  builder: DagBuilder,
  where: Where,
  kind: "http" | "sql",
  taskId: string,
  own: TaskOptions,
  templateFields: Record<string, JsonValue>,
  work: (fields: Record<string, unknown>, context: TaskContext) => Promise<unknown>,
  mapping: Mapping | undefined,
): XComArg<never> {
  const add = () => {
    const handle = addOperator(builder, kind, taskId, own, templateFields);
    builder.nodes.get(handle.taskId)!.fn = (async (fields: Record<string, unknown> = {}) =>
      work(fields, getCurrentContext<TaskContext>())) as never;
    return handle;
  };
  const handle = mapping ? expandOperator(builder, where, MAPPED[kind], mapping, templateFields, add) : add();
  return new XComArg(builder, handle.taskId);
}

/** Splits checked options into the operator's own (`keys`) and the task options. */
function splitOwn(
  label: string,
  taskId: string,
  options: unknown,
  keys: readonly string[],
  hints: Record<string, string> = {},
): { builder: DagBuilder; where: Where; own: Record<string, unknown>; rest: TaskOptions } {
  const builder = currentBuilder(`${label}("${taskId}")`, taskId);
  const where = builder.where(taskId);
  const known = knownEntries(
    options ?? {},
    [...keys, ...TASK_OPTION_KEYS],
    `${label}() options`,
    where,
    hints,
  );
  const own: Record<string, unknown> = {};
  const rest: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(known)) (keys.includes(key) ? own : rest)[key] = value;
  return { builder, where, own, rest: rest as TaskOptions };
}

function fn<F>(own: Record<string, unknown>, name: string, where: Where, example: string): F | undefined {
  const value = own[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value === "function") return value as F;
  report(definitionError(where, `${name} must be a function, got ${describe(value)}: write ${example}`));
  return undefined;
}

function jsonField(own: Record<string, unknown>, name: string, where: Where): JsonValue | undefined {
  const value = own[name];
  if (value === undefined) return undefined;
  try {
    return JSON.parse(JSON.stringify(value)) as JsonValue;
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

/** What pagination() returns: the next request's options, merged over the previous ones. */
export interface HttpNextPage {
  endpoint?: string;
  data?: JsonValue;
  headers?: Record<string, string>;
  method?: string;
}

/** http()'s options: Airflow's HttpOperator's, camelCased, and every task's. */
export interface HttpOptions extends TaskOptions {
  /** The `http` connection giving the base URL, auth and headers. Default "http_default". */
  connId?: string;
  /** The same as connId (httpSensor's and Airflow's http_conn_id). */
  httpConnId?: string;
  /** Default "POST", as Airflow's HttpOperator. */
  method?: string;
  /** The path after the connection's base URL, or a whole URL (a template). */
  endpoint?: string;
  /** A GET's query parameters, else the body (objects as JSON); strings are templates. */
  data?: JsonValue;
  /** Request headers over the connection's (values are templates). */
  headers?: Record<string, string>;
  /** false fails the try (it is retried by the task's retries). With pagination it gets every answer. */
  responseCheck?: (
    response: HttpResponse & HttpResponse[],
    context: TaskContext,
  ) => boolean | Promise<boolean>;
  /** What to push as XCom instead of the body. With pagination it gets every answer. */
  responseFilter?: (response: HttpResponse & HttpResponse[], context: TaskContext) => unknown;
  /** From each answer, the next request's options, or null/undefined to stop; every answer is kept. */
  pagination?: (
    response: HttpResponse,
  ) => HttpNextPage | null | undefined | Promise<HttpNextPage | null | undefined>;
  /** How long one request may take ("30s", seconds). Default "60s". */
  requestTimeout?: DurationInput;
  /** Write each answer's body to the task log. Default false. */
  logResponse?: boolean;
}

const HTTP_KEYS = [
  "connId",
  "httpConnId",
  "method",
  "endpoint",
  "data",
  "headers",
  "responseCheck",
  "responseFilter",
  "pagination",
  "requestTimeout",
  "logResponse",
] as const;

/** The most pages one http() task follows: a pagination that never stops is an error, not a hang. */
const MAX_PAGES = 1000;

/**
 * Calls an HTTP endpoint (Airflow's HttpOperator) through an `http` connection. A non-2xx answer, or
 * `responseCheck` returning false, fails the try, so the task's retries apply. The XCom is the body
 * (parsed when it is JSON, else text), or what `responseFilter` returns; with `pagination`, every
 * page's (a list), and responseCheck and responseFilter get the list of answers.
 *
 * @example
 * ```ts
 * http("get_orders", {
 *   connId: "shop_api",
 *   method: "GET",
 *   endpoint: "/orders",
 *   data: { day: "{{ ds }}" },
 *   responseCheck: (r) => r.json<{ ok: boolean }>().ok,
 *   responseFilter: (r) => r.json<{ orders: unknown[] }>().orders,
 *   retries: 3,
 * });
 * ```
 */
export function http<T = unknown>(taskId: string, options: HttpOptions = {}): XComArg<T> {
  return addHttp(taskId, options, undefined);
}

/** http()'s fields that can be mapped over (templates, as when given to http()). */
export interface HttpMappedFields {
  endpoint?: string;
  method?: string;
  data?: JsonValue;
  headers?: Record<string, string>;
}

/** What http.partial().expand() maps over: a list (or a task's output) per field. */
export interface HttpMappedLists {
  endpoint?: MapInput<string>;
  method?: MapInput<string>;
  data?: readonly JsonValue[] | XComArg<readonly JsonValue[]>;
  headers?: MapInput<Record<string, string>>;
}

/**
 * An http task with some options fixed (Airflow's HttpOperator.partial()), to map with expand({
 * endpoint: [...] }) (the cross product of the lists given) or expandKwargs([{ endpoint, data }, ...]).
 * Its XCom, pulled downstream, is the list of every instance's.
 */
http.partial = function partial<T = unknown>(taskId: string, options: HttpOptions = {}) {
  return {
    expand: (mapped: HttpMappedLists): XComArg<T[]> =>
      addHttp(taskId, options, { mode: "dict", items: mapped }),
    expandKwargs: (items: readonly HttpMappedFields[] | XComArg<readonly HttpMappedFields[]>): XComArg<T[]> =>
      addHttp(taskId, options, { mode: "kwargs", items }),
  };
};

function addHttp<T>(taskId: string, options: HttpOptions, mapping: Mapping | undefined): XComArg<T> {
  const hints = {
    http_conn_id: "connId",
    response_check: "responseCheck",
    response_filter: "responseFilter",
  };
  const { builder, where, own, rest } = splitOwn("http", taskId, options, HTTP_KEYS, hints);
  const connId = stringOrNull(own.connId ?? own.httpConnId, "connId", where) ?? "http_default";
  const headers = jsonField(own, "headers", where) ?? {};
  if (headers === null || typeof headers !== "object" || Array.isArray(headers))
    report(definitionError(where, `headers must be an object of strings, got ${describe(headers)}`));
  const fields: Record<string, JsonValue> = {
    method: String(own.method ?? "POST").toUpperCase(),
    endpoint: stringOrNull(own.endpoint, "endpoint", where) ?? "",
    data: jsonField(own, "data", where) ?? null,
    headers,
  };
  // Mapped, a field partial() left out is the element's to give (the defaults apply at run time).
  if (mapping) for (const key of Object.keys(fields)) if (own[key] === undefined) delete fields[key];
  const check = fn<HttpOptions["responseCheck"]>(own, "responseCheck", where, "responseCheck: (r) => r.ok");
  const filter = fn<HttpOptions["responseFilter"]>(
    own,
    "responseFilter",
    where,
    "responseFilter: (r) => r.json()",
  );
  const paginate = fn<HttpOptions["pagination"]>(own, "pagination", where, "pagination: (r) => null");
  const timeout =
    own.requestTimeout === undefined
      ? 60
      : duration(own.requestTimeout as DurationInput, "requestTimeout", where);
  const logResponse = flag(own.logResponse, "logResponse", where);
  const work = async (f: Record<string, unknown>, context: TaskContext) => {
    const hook = httpHook(connId);
    let request: HttpRequestOptions = {
      // A mapped method is the element's, as written.
      method: String(f.method ?? "POST").toUpperCase(),
      endpoint: String(f.endpoint ?? ""),
      data: f.data ?? null,
      headers: (f.headers ?? {}) as Record<string, string>,
      timeoutMs: timeout * 1000,
    };
    const answers: HttpResponse[] = [];
    for (;;) {
      const response = await hook.run(request);
      console.log(`${request.method} ${response.url}: ${response.status}`);
      if (logResponse) console.log(response.text);
      if (!response.ok)
        throw new Error(
          `${request.method} ${response.url} answered ${response.status}: ${response.text.slice(0, 500)}`,
        );
      answers.push(response);
      const next = paginate ? await paginate(response) : null;
      if (!next) break;
      if (answers.length >= MAX_PAGES)
        throw new Error(
          `pagination asked for more than ${MAX_PAGES} pages: make it return null at the last one`,
        );
      request = nextPage(request, next);
    }
    const answer = (paginate ? answers : answers[0]) as HttpResponse & HttpResponse[];
    if (check && !(await check(answer, context))) throw new Error("Response check returned False.");
    if (filter) return filter(answer, context);
    return paginate ? answers.map(responseValue) : responseValue(answers[0]!);
  };
  return addWorking(builder, where, "http", taskId, rest, fields, work, mapping);
}

/** Airflow's _merge_next_page_parameters: the endpoint replaced, data and headers merged. */
function nextPage(previous: HttpRequestOptions, next: HttpNextPage): HttpRequestOptions {
  const merge = (a: unknown, b: unknown) =>
    a && b && typeof a === "object" && typeof b === "object" && !Array.isArray(a) && !Array.isArray(b)
      ? { ...a, ...b }
      : (b ?? a);
  return {
    ...previous,
    method: next.method ?? previous.method,
    endpoint: next.endpoint ?? previous.endpoint,
    data: merge(previous.data, next.data),
    headers: { ...previous.headers, ...next.headers },
  };
}

/** sql()'s options: Airflow's SQLExecuteQueryOperator's, camelCased, and every task's. */
export interface SqlOptions<R = unknown> extends TaskOptions {
  /** A `postgres`, `mysql` (or `mariadb`) or `sqlite` connection. */
  connId: string;
  /** A statement, a script (with `split`), or a list of statements; templates. */
  sql: string | string[];
  /** Bound by the driver: a list ($1 in PostgreSQL, ? in MySQL and SQLite) or named (:name); strings are templates. */
  parameters?: JsonValue[] | Record<string, JsonValue>;
  /** Split the script at its semicolons and run each statement. Default false. */
  split?: boolean;
  /** With split, push only the last statement's result. Default true. */
  returnLast?: boolean;
  /** Each statement's result from its rows (objects keyed by column); default the rows (null when none). */
  handler?: (rows: Record<string, unknown>[], info: SqlStatementInfo) => R | Promise<R>;
  /** Commit each statement on its own, not all of them together at the end. Default false. */
  autocommit?: boolean;
}

const SQL_KEYS = ["connId", "sql", "parameters", "split", "returnLast", "handler", "autocommit"] as const;

/**
 * Runs SQL on a connection (Airflow's SQLExecuteQueryOperator): the XCom is the statement's rows, each
 * an object keyed by column (a list of results for a list of statements, or for a split script with
 * `returnLast: false`), or what `handler` makes of them. A result over `[core] xcom_max_size` fails
 * the task with the size and the limit.
 *
 * @example
 * ```ts
 * sql("daily_totals", {
 *   connId: "warehouse",
 *   sql: "SELECT region, sum(amount) AS total FROM sales WHERE day = $1 GROUP BY region",
 *   parameters: ["{{ ds }}"],
 * });
 * ```
 */
export function sql<T = unknown, R = unknown>(taskId: string, options: SqlOptions<R>): XComArg<T> {
  return addSql(taskId, options, undefined);
}

/** sql()'s fields that can be mapped over (templates, as when given to sql()). */
export interface SqlMappedFields {
  sql?: string | string[];
  parameters?: JsonValue[] | Record<string, JsonValue>;
}

/** What sql.partial().expand() maps over: a list (or a task's output) per field. */
export interface SqlMappedLists {
  sql?: MapInput<string | string[]>;
  parameters?:
    | readonly (JsonValue[] | Record<string, JsonValue>)[]
    | XComArg<readonly (JsonValue[] | Record<string, JsonValue>)[]>;
}

/** sql()'s options that partial() fixes: the statement may be left to expand(). */
export type SqlPartialOptions<R = unknown> = Omit<SqlOptions<R>, "sql"> & { sql?: string | string[] };

/**
 * A sql task with some options fixed (Airflow's SQLExecuteQueryOperator.partial()), to map with
 * expand({ sql: [...] }) or expand({ parameters: [...] }), or expandKwargs([{ sql, parameters }, ...]).
 */
sql.partial = function partial<T = unknown, R = unknown>(taskId: string, options: SqlPartialOptions<R>) {
  return {
    expand: (mapped: SqlMappedLists): XComArg<T[]> =>
      addSql(taskId, options, { mode: "dict", items: mapped }),
    expandKwargs: (items: readonly SqlMappedFields[] | XComArg<readonly SqlMappedFields[]>): XComArg<T[]> =>
      addSql(taskId, options, { mode: "kwargs", items }),
  };
};

function addSql<T, R>(
  taskId: string,
  options: SqlPartialOptions<R>,
  mapping: Mapping | undefined,
): XComArg<T> {
  const hints = { conn_id: "connId", split_statements: "split", return_last: "returnLast" };
  const { builder, where, own, rest } = splitOwn("sql", taskId, options, SQL_KEYS, hints);
  const connId = stringOrNull(own.connId, "connId", where) ?? "";
  if (!connId)
    report(definitionError(where, 'sql() needs connId, the connection to run on: write connId: "warehouse"'));
  const statements = own.sql;
  const okSql =
    (typeof statements === "string" && statements.trim() !== "") ||
    (Array.isArray(statements) && statements.length > 0 && statements.every((s) => typeof s === "string"));
  // A mapped task may leave its statement to expand() (expandOperator says so if nothing gives one).
  if (!okSql && !(mapping && statements === undefined))
    report(
      definitionError(where, `sql must be a statement or a list of statements, got ${describe(statements)}`),
    );
  const parameters = jsonField(own, "parameters", where);
  if (parameters !== undefined && (parameters === null || typeof parameters !== "object"))
    report(definitionError(where, `parameters must be a list or an object, got ${describe(parameters)}`));
  const handler = fn<SqlOptions["handler"]>(own, "handler", where, "handler: (rows) => rows.length");
  const settings = {
    split: flag(own.split, "split", where),
    returnLast: own.returnLast === undefined ? true : flag(own.returnLast, "returnLast", where),
    autocommit: flag(own.autocommit, "autocommit", where),
  };
  const fields: Record<string, JsonValue> = okSql ? { sql: statements as JsonValue } : {};
  if (parameters !== undefined) fields.parameters = parameters;
  const work = async (f: Record<string, unknown>) => {
    const hook = sqlHook(connId);
    try {
      const result = await hook.run(f.sql as string | string[], {
        ...settings,
        parameters: f.parameters as SqlParameters | undefined,
        handler: handler ?? ((rows, info) => (info.columns === null ? null : rows.map(jsonRow))),
      });
      return result;
    } finally {
      await hook.close();
    }
  };
  return addWorking(builder, where, "sql", taskId, rest, fields, work, mapping);
}

function jsonRow(row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, jsonCell(v)]));
}
