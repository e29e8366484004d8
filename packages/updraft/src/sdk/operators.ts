/**
 * Cross-DAG operators (Airflow's TriggerDagRunOperator and ExternalTaskMarker) and the email
 * operator. The cross-DAG ones run no user code: the task runner does their work (creating a run
 * needs the database, which a task's process never touches), so what they are is written here as
 * template fields, rendered for each try. The email operator's fields are rendered the same way,
 * then sent from the task's process (sdk/email.ts) through the runner's lookups.
 */
import { parseDuration, type DurationInput } from "../core/duration.ts";
import { currentBuilder } from "./builder.ts";
import { sendEmail } from "./email.ts";
import { definitionError, describe, type Where } from "./fail.ts";
import type { TaskHandle } from "./handles.ts";
import type { JsonValue } from "./json.ts";
import { knownEntries, TASK_OPTION_KEYS, type TaskOptions } from "./options.ts";
import { report } from "./problems.ts";
import { addOperator } from "./tasks.ts";

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
