/**
 * Airflow's spellings of DAG, task and operator arguments, and what an Airflow user writes here
 * instead. One table, read by the option checks (an unknown option gets its hint) and mirrored by
 * docs/airflow-to-updraft.md (airflow-names.test.ts checks that every name here is in the doc).
 *
 * A snake_case name whose camelCase form is an option where it was written needs no entry
 * (`max_active_runs` -> `maxActiveRuns`); entries are for names spelled differently, options of
 * another place (a DAG option given to a task), and what Updraft does not have.
 */
import { formatDuration } from "../core/duration.ts";

/** `is`: the name here (`on`: where it goes when not where it was written); `say`: free advice. */
export type AirflowHint = { is: string; on?: string } | { say: string };

const NOT_YET = "not supported yet";

export const AIRFLOW_NAMES: Readonly<Record<string, AirflowHint>> = {
  // DAG(...)
  dag_id: { is: "dagId", on: "dag()" },
  schedule_interval: { is: "schedule", on: "dag()" },
  timetable: { is: "schedule", on: "dag() (a timetable such as cronTriggerTimetable())" },
  start_date: { is: "startDate", on: "dag() (tasks start with their DAG)" },
  end_date: { is: "endDate", on: "dag()" },
  default_args: { is: "defaultArgs", on: "dag()" },
  concurrency: { is: "maxActiveTasks", on: "dag()" },
  max_active_tasks: { is: "maxActiveTasks", on: "dag()" },
  max_active_runs: { is: "maxActiveRuns", on: "dag()" },
  max_consecutive_failed_dag_runs: { is: "maxConsecutiveFailedDagRuns", on: "dag()" },
  dagrun_timeout: { is: "dagrunTimeout", on: 'dag(), a duration such as "2h"' },
  catchup: { is: "catchup", on: "dag()" },
  tags: { is: "tags", on: "dag()" },
  params: { is: "params", on: "dag()" },
  is_paused_upon_creation: { is: "isPausedUponCreation", on: "dag()" },
  description: { is: "description", on: "dag()" },
  doc_md: { is: "docMd", on: "dag() or a task" },
  doc: { is: "docMd", on: "dag() or a task" },
  doc_rst: { say: "write Markdown in docMd" },
  doc_json: { say: "write Markdown in docMd" },
  doc_yaml: { say: "write Markdown in docMd" },
  default_view: { say: "not an option here: the UI remembers the view each user picks" },
  orientation: { say: "not an option here: the UI remembers the graph's direction" },
  template_searchpath: {
    say: "not supported: templates are the strings written in the DAG file (read a file in a TypeScript task instead)",
  },
  template_undefined: { say: "not supported: an undefined template variable renders as an empty string" },
  user_defined_macros: {
    say: `${NOT_YET}: compute the value in a TypeScript task and pass it on, or use a variable ({{ var.value.key }})`,
  },
  user_defined_filters: { say: `${NOT_YET}: compute the value in a TypeScript task and pass it on` },
  jinja_environment_kwargs: { say: "not supported: templates are rendered by nunjucks with fixed settings" },
  render_template_as_native_obj: {
    say: "not supported: templates render to strings; pass values as TypeScript task arguments (task outputs keep their JSON type)",
  },
  access_control: { say: `${NOT_YET}: permissions are per role, not per DAG (docs/security.md)` },
  owner_links: { say: NOT_YET },
  dag_display_name: { say: `${NOT_YET}: the UI shows the dagId` },
  sla_miss_callback: {
    is: "deadline",
    on: 'dag(): SLAs were removed in Airflow 3; write deadline: { reference: "queued_at", interval: "1h", callback }',
  },
  DeadlineAlert: { is: "deadline", on: 'dag(), as { reference: "queued_at", interval: "1h", callback }' },
  fail_fast: { say: NOT_YET },
  auto_register: { say: "not supported: every dag() a DAG file exports is registered" },
  full_filepath: { say: "not an option: the DAG processor records the file" },
  // BaseOperator(...)
  task_id: { say: 'the task id is the first argument: bash("extract", { ... }), task("extract", fn)' },
  owner: { is: "owner", on: "dag(), a task or defaultArgs" },
  email: { is: "email", on: 'a task or defaultArgs, a list of addresses: email: ["ops@example.com"]' },
  email_on_failure: { is: "emailOnFailure", on: "a task or defaultArgs (default true when email is set)" },
  email_on_retry: { is: "emailOnRetry", on: "a task or defaultArgs (default true when email is set)" },
  retries: { is: "retries", on: "a task or defaultArgs" },
  retry_delay: { is: "retryDelay", on: 'a task or defaultArgs, a duration such as "5m"' },
  retry_exponential_backoff: { is: "retryExponentialBackoff", on: "a task or defaultArgs" },
  max_retry_delay: { is: "maxRetryDelay", on: 'a task or defaultArgs, a duration such as "1h"' },
  execution_timeout: { is: "executionTimeout", on: 'a task or defaultArgs, a duration such as "30m"' },
  trigger_rule: {
    is: "triggerRule",
    on: 'a task or defaultArgs, the same values: "all_success", "all_done", "one_failed", "none_failed", ...',
  },
  depends_on_past: { is: "dependsOnPast", on: "a task or defaultArgs" },
  wait_for_downstream: { is: "waitForDownstream", on: "a task or defaultArgs" },
  ignore_first_depends_on_past: { say: `${NOT_YET}: dependsOnPast ignores the first run already` },
  pool: { is: "pool", on: "a task or defaultArgs" },
  pool_slots: { is: "poolSlots", on: "a task or defaultArgs" },
  priority_weight: { is: "priorityWeight", on: "a task or defaultArgs" },
  weight_rule: { is: "weightRule", on: "a task or defaultArgs" },
  queue: { is: "queue", on: "a task or defaultArgs" },
  run_as_user: { is: "runAsUser", on: "a task or defaultArgs" },
  map_index_template: { is: "mapIndexTemplate", on: "a task" },
  on_failure_fail_dagrun: { is: "onFailureFailDagrun", on: "a teardown task" },
  multiple_outputs: { is: "multipleOutputs", on: "task()" },
  do_xcom_push: {
    say: "doXcomPush on bash() and task.bash() (their last line of output is their XCom); a TypeScript task's return value is its XCom (return nothing to push none)",
  },
  sla: {
    say: 'not supported (SLAs were removed in Airflow 3): give the DAG a deadline: { reference: "queued_at", interval: "1h", callback }',
  },
  on_failure_callback: {
    is: "onFailure",
    on: "a task or defaultArgs (a function of the context, a notifier, or a list); dag() takes one for the run",
  },
  on_success_callback: {
    is: "onSuccess",
    on: "a task or defaultArgs (a function of the context, a notifier, or a list); dag() takes one for the run",
  },
  on_retry_callback: {
    is: "onRetry",
    on: "a task or defaultArgs (a function of the context, a notifier, or a list)",
  },
  on_execute_callback: {
    is: "onExecute",
    on: "a task or defaultArgs (a function of the context, a notifier, or a list)",
  },
  on_skipped_callback: {
    is: "onSkipped",
    on: "a task or defaultArgs (a function of the context, a notifier, or a list)",
  },
  pre_execute: { say: "not supported: do it at the start of a TypeScript task" },
  post_execute: { say: "not supported: do it at the end of a TypeScript task" },
  resources: { say: 'not supported; memoryLimit ("512MiB") limits a task\'s memory' },
  executor_config: { say: "not supported: the executor is chosen by configuration" },
  executor: { say: "not supported: the executor is chosen by configuration" },
  max_active_tis_per_dag: { say: NOT_YET },
  max_active_tis_per_dagrun: { say: NOT_YET },
  task_display_name: { say: `${NOT_YET}: the UI shows the task id` },
  inlets: {
    say: `${NOT_YET}: a task reads the events that started its run from getCurrentContext().triggering_asset_events`,
  },
  task_concurrency: { say: NOT_YET },
  // Operators and decorators
  bash_command: { is: "command", on: 'bash(): bash("id", { command: "echo hi" })' },
  env: { is: "env", on: "bash()" },
  cwd: { is: "cwd", on: "bash()" },
  append_env: { say: "not an option: env is added to the task's environment" },
  skip_on_exit_code: { say: "not an option: exit code 99 skips a bash task" },
  output_encoding: { say: "not an option: output is read as UTF-8" },
  python_callable: { say: 'the function is task()\'s second argument: task("id", fn)' },
  op_args: { say: 'pass arguments when calling the task: const t = task("t", fn); t(a, b)' },
  op_kwargs: { say: 'pass arguments when calling the task: const t = task("t", fn); t({ a, b })' },
  templates_dict: { say: 'pass arguments when calling the task; they are templates: t("{{ ds }}")' },
  provide_context: { say: "not needed: the context is getCurrentContext() inside a TypeScript task" },
  templates_exts: { say: "not supported: templates are the strings written in the DAG file" },
  show_return_value_in_logs: { say: "not an option: the return value is an XCom, shown in the UI" },
  ignore_downstream_trigger_rules: { is: "ignoreDownstreamTriggerRules", on: "shortCircuit()" },
  prefix_group_id: { is: "prefixGroupId", on: "taskGroup()" },
  group_id: { say: 'the group id is the first argument: taskGroup("id", fn)' },
  ui_color: { is: "uiColor", on: "taskGroup()" },
  ui_fgcolor: { is: "uiFgColor", on: "taskGroup()" },
  // HttpOperator (SimpleHttpOperator) is http(), SQLExecuteQueryOperator is sql() (sdk/operators.ts)
  response_filter: { is: "responseFilter", on: "http()" },
  log_response: { is: "logResponse", on: "http()" },
  split_statements: { is: "split", on: "sql()" },
  return_last: { is: "returnLast", on: "sql()" },
  database: { say: "not an option: the database is the connection's schema (its Database field)" },
  hook_params: { say: "not an option: sql() and sqlHook() read everything from the connection" },
  // Sensors (BaseSensorOperator and the ready-made ones, sdk/ready-sensors.ts)
  poke_interval: { is: "pokeInterval", on: 'a sensor, a duration such as "30s"' },
  soft_fail: { is: "softFail", on: "a sensor" },
  exponential_backoff: { is: "exponentialBackoff", on: "a sensor" },
  max_wait: { is: "maxWait", on: 'a sensor, a duration such as "10m"' },
  fs_conn_id: {
    say: "not an option: fileSensor reads the local filesystem; give filepath as an absolute path",
  },
  http_conn_id: { is: "httpConnId", on: "httpSensor() or http() (where connId is the same)" },
  response_check: { is: "responseCheck", on: "httpSensor() or http()" },
  request_params: { is: "data", on: "httpSensor() (a GET's data object is its query parameters)" },
  extra_options: {
    say: 'not an option: httpSensor() takes requestTimeout ("30s"); TLS and proxies come from the environment',
  },
  conn_id: { is: "connId", on: "sql() or sqlSensor()" },
  fail_on_empty: { is: "failOnEmpty", on: "sqlSensor()" },
  target_time: { is: "targetTime", on: "timeSensor() or dateTimeSensor()" },
  external_dag_id: { is: "externalDagId", on: "externalTaskSensor()" },
  external_task_id: { is: "externalTaskId", on: "externalTaskSensor()" },
  external_task_ids: { is: "externalTaskIds", on: "externalTaskSensor()" },
  external_task_group_id: { say: `${NOT_YET}: list the group's tasks in externalTaskIds` },
  execution_delta: { is: "executionDelta", on: 'externalTaskSensor(), a duration such as "1h"' },
  execution_date_fn: { is: "executionDateFn", on: "externalTaskSensor()" },
  allowed_states: { is: "allowedStates", on: "externalTaskSensor()" },
  failed_states: { is: "failedStates", on: "externalTaskSensor()" },
  skipped_states: { is: "skippedStates", on: "externalTaskSensor()" },
  check_existence: { is: "checkExistence", on: "externalTaskSensor()" },
  // EmailOperator(...)
  html_content: { is: "html", on: "email()" },
  from_email: { is: "from", on: "email() or smtpNotifier()" },
  mime_subtype: { say: "not an option: email() sends an HTML body" },
  mime_charset: { say: "not an option: email() sends UTF-8" },
  custom_headers: { say: `${NOT_YET} on email()` },
};

/** "max_active_runs" -> "maxActiveRuns"; other names unchanged. */
export function camelCase(name: string): string {
  return name.replace(/_+([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/**
 * The hint for an option Airflow users write, where `allowed` are the options of the place it was
 * written; undefined when the name is not Airflow's.
 */
export function airflowHint(key: string, allowed: readonly string[]): string | undefined {
  const entry = Object.hasOwn(AIRFLOW_NAMES, key) ? AIRFLOW_NAMES[key] : undefined;
  if (entry && "say" in entry) return `Airflow's ${key}: ${entry.say}`;
  if (entry && !allowed.includes(entry.is)) {
    const on = entry.on ?? "a task or defaultArgs";
    return entry.is === key
      ? `${key} is an option of ${on}, not of this place`
      : `Airflow's ${key} is ${entry.is} here, an option of ${on}`;
  }
  const name = entry?.is ?? camelCase(key);
  if (name !== key && allowed.includes(name)) return `Airflow's ${key} is ${name} here`;
  return undefined;
}

/** The option an Airflow name stands for here (bash_command -> command), if it is a rename. */
export function airflowTarget(key: string): string | undefined {
  const entry = Object.hasOwn(AIRFLOW_NAMES, key) ? AIRFLOW_NAMES[key] : undefined;
  if (entry) return "is" in entry ? entry.is : undefined;
  return key.includes("_") ? camelCase(key) : undefined;
}

// Values written as in a Python DAG file: timedelta(...), datetime(...), a schedule_interval of "1d".

const TIMEDELTA_UNITS: Record<string, number> = {
  weeks: 604800,
  days: 86400,
  hours: 3600,
  minutes: 60,
  seconds: 1,
  milliseconds: 0.001,
  microseconds: 0.000001,
};

/** Seconds of `{ days: 1 }`, `"timedelta(days=1)"` or `"pendulum.duration(hours=2)"`; undefined for anything else. */
function timedeltaSeconds(value: unknown): number | undefined {
  let parts: [string, unknown][];
  if (typeof value === "string") {
    const m = /^\s*(?:[\w.]*\.)?(?:timedelta|duration)\((.*)\)\s*$/.exec(value);
    if (!m) return undefined;
    parts = m[1]!
      .split(",")
      .filter((p) => p.trim() !== "")
      .map((p) => {
        const [k, v] = p.split("=");
        return [k?.trim() ?? "", v === undefined ? NaN : Number(v.trim())];
      });
    if (parts.length === 1 && parts[0]![1] !== parts[0]![1] && /^\d+(\.\d+)?$/.test(parts[0]![0]))
      parts = [["days", Number(parts[0]![0])]]; // timedelta(1) is one day
  } else if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    parts = Object.entries(value);
  } else return undefined;
  if (parts.length === 0) return undefined;
  let seconds = 0;
  for (const [unit, amount] of parts) {
    const size = TIMEDELTA_UNITS[unit];
    if (size === undefined || typeof amount !== "number" || !Number.isFinite(amount)) return undefined;
    seconds += amount * size;
  }
  return seconds;
}

/** `write "1d"` for a timedelta-like value, else undefined. */
export function durationHint(value: unknown): string | undefined {
  const seconds = timedeltaSeconds(value);
  if (seconds === undefined || seconds < 0) return undefined;
  return `for Airflow's timedelta write a duration string: "${formatDuration(seconds)}"`;
}

/** A schedule written as an interval ("1d", "@every 30m", timedelta): `write { every: "1d" }`. */
export function scheduleHint(value: unknown): string | undefined {
  if (typeof value === "string") {
    const text = value.trim().replace(/^@every\s+/, "");
    if (/^(\d+(\.\d+)?(ms|s|m|h|d|w)\s*)+$/.test(text))
      return `for an interval write { every: "${text.replace(/\s+/g, "")}" }`;
    if (value.trim() === "None") return "for manual runs only write null";
  }
  const seconds = timedeltaSeconds(value);
  if (seconds !== undefined && seconds > 0)
    return `for an interval write { every: "${formatDuration(seconds)}" }`;
  return undefined;
}

/** `"datetime(2025, 1, 1)"`, `"pendulum.datetime(2025, 1, 1, tz=\"UTC\")"`, `"days_ago(1)"`: the ISO date to write. */
export function dateHint(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  if (/^\s*(?:[\w.]*\.)?days_ago\(/.test(value))
    return 'Airflow\'s days_ago() is gone from Airflow 3 too: write a fixed date such as "2025-01-01"';
  const m = /^\s*(?:[\w.]*\.)?datetime\(\s*([^)]*)\)\s*$/.exec(value);
  if (!m) return undefined;
  const args = m[1]!.split(",").map((a) => a.trim());
  const numbers = args.filter((a) => /^\d+$/.test(a)).map(Number);
  if (numbers.length < 3) return undefined;
  const [y, mo, d, h, mi, s] = numbers as [number, number, number, number?, number?, number?];
  const pad = (n: number | undefined) => String(n ?? 0).padStart(2, "0");
  let iso = `${String(y).padStart(4, "0")}-${pad(mo)}-${pad(d)}`;
  if (h !== undefined) iso += `T${pad(h)}:${pad(mi)}${s ? `:${pad(s)}` : ""}`;
  const tz = /(?:tz|tzinfo)\s*=\s*(?:pendulum\.timezone\()?["']([^"']+)["']/.exec(m[1]!)?.[1];
  const zone = tz ? ` and timezone: "${tz}" on the DAG` : "";
  return `for Airflow's datetime write an ISO date: "${iso}"${zone}`;
}
