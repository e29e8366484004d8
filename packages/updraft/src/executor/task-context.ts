/**
 * The template context a task's fields are rendered with (Jinja syntax via nunjucks), and the same
 * values a TypeScript task gets from getCurrentContext(): ds, ts, logical_date, data interval,
 * run_id, dag_run.conf, params, var, conn, macros.
 */
import nunjucks from "nunjucks";
import { MACROS, MacroDateTime } from "../core/macros.ts";
import { pythonIsoformat } from "../core/timetables/index.ts";
import { resolveParams } from "../core/params.ts";
import type { SerializedDag, SerializedTask } from "../core/serialized.ts";
import { environmentConnections, environmentVariables } from "../secrets/backends.ts";
import type { AssetEventView } from "../storage/assets.ts";
import type { DagRunRow, TaskInstanceRow } from "../storage/schema.ts";

const env = new nunjucks.Environment(null, { autoescape: false, throwOnUndefined: true });

// As Airflow's Jinja (StrictUndefined): an undefined name fails the render, and a null value prints
// "None" (Python's None). nunjucks's strict mode refuses both; its output check is wrapped so null
// passes as "None" (only outputs go through it: `{% if x %}` still sees null as false).
const runtime = nunjucks.runtime as unknown as {
  ensureDefined: (value: unknown, lineno: number, colno: number) => unknown;
  memberLookup: (obj: unknown, name: string) => unknown;
};
const ensureDefined = runtime.ensureDefined as typeof runtime.ensureDefined & { printsNone?: boolean };
// sdk/templates.ts wraps the same check when it is loaded first: wrapped once either way.
if (!ensureDefined.printsNone)
  runtime.ensureDefined = Object.assign(
    (value: unknown, lineno: number, colno: number) =>
      value === null ? "None" : ensureDefined(value, lineno, colno),
    { printsNone: true },
  );

// nunjucks hands out a method as a bound copy, which drops the function's own properties: a function
// that is also a namespace (macros.datetime, with .now() and .fromisoformat()) is handed out itself.
const memberLookup = runtime.memberLookup;
runtime.memberLookup = (obj, name) => {
  const value = obj === null || obj === undefined ? undefined : (obj as Record<string, unknown>)[name];
  return typeof value === "function" && Object.keys(value).length > 0 ? value : memberLookup(obj, name);
};

/** Python's isoformat in UTC, as Airflow prints a logical date: fractions only when there are some. */
const iso = (d: Date) => pythonIsoformat(d);
const ds = (d: Date) => d.toISOString().slice(0, 10);
const tsNodash = (d: Date) => iso(d).slice(0, 19).replace(/[-:]/g, "");
const tsNodashWithTz = (d: Date) => iso(d).replace(/[-:]/g, "");

// Airflow's filters, applied to a date string such as {{ data_interval_end | ds }}, or to a datetime
// of macros.datetime (formatted in its own zone, as Python's strftime does).
const dateOf = (value: unknown) => (value instanceof MacroDateTime ? value : MacroDateTime.of(String(value)));
for (const [name, fn] of [
  ["ds", (d: MacroDateTime) => d.strftime("%Y-%m-%d")],
  ["ds_nodash", (d: MacroDateTime) => d.strftime("%Y%m%d")],
  ["ts", (d: MacroDateTime) => d.isoformat()],
  ["ts_nodash", (d: MacroDateTime) => d.strftime("%Y%m%dT%H%M%S")],
  ["ts_nodash_with_tz", (d: MacroDateTime) => d.isoformat().replace(/[-:]/g, "")],
] as const) {
  env.addFilter(name, (value: unknown) => fn(dateOf(value)));
}

export interface Lookups {
  variables: Map<string, string>;
  connections: Map<string, Record<string, unknown>>;
  /** The previous successful run of this DAG (for prev_*_success), if any. */
  previousSuccess?: {
    data_interval_start: string | null;
    data_interval_end: string | null;
    start_date: string | null;
    end_date: string | null;
  } | null;
  /** An asset-triggered run's events, by asset URI (Airflow's triggering_asset_events). */
  triggeringAssetEvents?: Record<string, unknown[]>;
  /** The run's XComs the templates may pull (`ti.xcom_pull`), values decoded. */
  xcoms?: readonly PulledXCom[];
}

/** One XCom of the run as `ti.xcom_pull` in a template reads it. */
export interface PulledXCom {
  task_id: string;
  map_index: number;
  key: string;
  value: unknown;
}

/** nunjucks passes keyword arguments as a last object marked `__keywords`. */
type Keywords = Record<string, unknown> & { __keywords?: true };

/**
 * Airflow's `ti.xcom_pull(task_ids=None, key="return_value", map_indexes=None, default=None)` over
 * the XComs loaded before rendering: one task id gives its value (a mapped task's values as a list,
 * by map index), a list of ids a list; no ids means the task itself.
 */
function xcomPull(xcoms: readonly PulledXCom[], self: string) {
  return (...args: unknown[]): unknown => {
    const last = args.at(-1);
    const kw: Keywords =
      last && typeof last === "object" && (last as Keywords).__keywords ? (args.pop() as Keywords) : {};
    const [taskIds = kw.task_ids ?? self, key = kw.key ?? "return_value"] = args;
    const fallback = kw.default ?? null;
    const indexes = kw.map_indexes;
    const one = (taskId: unknown): unknown => {
      const rows = xcoms
        .filter((x) => x.task_id === taskId && x.key === key)
        .filter((x) =>
          indexes === undefined || indexes === null
            ? true
            : (Array.isArray(indexes) ? indexes : [indexes]).includes(x.map_index),
        )
        .sort((a, b) => a.map_index - b.map_index);
      if (rows.length === 0) return fallback;
      if (rows.length === 1 && (rows[0]!.map_index === -1 || typeof indexes === "number"))
        return rows[0]!.value;
      return rows.map((r) => r.value);
    };
    return Array.isArray(taskIds) ? taskIds.map(one) : one(taskIds);
  };
}

/** Python dicts in templates have .get(key, default): `dag_run.conf.get('x')`, `var.value.get('k', 'd')`. */
function withGet<T extends Record<string, unknown>>(record: T): T {
  Object.defineProperty(record, "get", {
    value: (key: string, fallback: unknown = null) => (key in record ? record[key] : fallback),
    enumerable: false,
  });
  return record;
}

const isoOrNull = (value: string | null | undefined) => (value ? iso(new Date(value)) : null);

export function buildContext(
  dag: SerializedDag,
  task: SerializedTask,
  run: DagRunRow,
  ti: TaskInstanceRow,
  lookups: Lookups,
): Record<string, unknown> {
  const logical = new Date(run.logical_date ?? run.run_after);
  const conf = JSON.parse(run.conf ?? "{}") as Record<string, unknown>;
  const params = resolveParams(dag.dagId, dag.params, conf);
  const varJson = Object.fromEntries([...lookups.variables].map(([k, v]) => [k, safeJson(v)]));
  const prev = lookups.previousSuccess ?? null;
  const taskInstance = {
    try_number: ti.try_number,
    max_tries: ti.max_tries,
    map_index: ti.map_index,
    task_id: ti.task_id,
    dag_id: ti.dag_id,
    run_id: ti.run_id,
    queue: ti.queue,
    hostname: ti.hostname,
  };
  // A method, not a value: a TypeScript task's copy of the context (JSON) leaves it out.
  Object.defineProperty(taskInstance, "xcom_pull", {
    value: xcomPull(lookups.xcoms ?? [], ti.task_id),
    enumerable: false,
  });
  return {
    ds: ds(logical),
    ds_nodash: ds(logical).replaceAll("-", ""),
    ts: iso(logical),
    ts_nodash: tsNodash(logical),
    ts_nodash_with_tz: tsNodashWithTz(logical),
    logical_date: iso(logical),
    data_interval_start: isoOrNull(run.data_interval_start),
    data_interval_end: isoOrNull(run.data_interval_end),
    prev_data_interval_start_success: isoOrNull(prev?.data_interval_start),
    prev_data_interval_end_success: isoOrNull(prev?.data_interval_end),
    prev_start_date_success: isoOrNull(prev?.start_date),
    prev_end_date_success: isoOrNull(prev?.end_date),
    start_date: isoOrNull(ti.start_date),
    run_id: run.run_id,
    dag: { dag_id: dag.dagId, tags: dag.tags, owner: dag.owner, timezone: dag.timezone },
    task: { task_id: task.taskId, kind: task.kind, retries: task.retries },
    ti: taskInstance,
    task_instance: taskInstance,
    dag_run: { run_id: run.run_id, run_type: run.run_type, conf: withGet(conf), logical_date: iso(logical) },
    params: withGet(params),
    var: { value: withGet(Object.fromEntries(lookups.variables)), json: withGet(varJson) },
    conn: withGet(Object.fromEntries([...lookups.connections].map(([id, c]) => [id, c]))),
    task_instance_key_str: `${dag.dagId}__${task.taskId}__${ds(logical).replaceAll("-", "")}`,
    test_mode: false,
    triggering_asset_events: lookups.triggeringAssetEvents ?? {},
    macros: MACROS,
  };
}

/**
 * Airflow's triggering_asset_events: each asset's URI to the events of it that started the run, each
 * with the asset, its extra, when, and where it came from.
 */
export function triggeringAssetEvents(events: readonly AssetEventView[]): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  for (const e of events)
    (out[e.uri] ??= []).push({
      asset: { uri: e.uri, name: e.name, group: e.group },
      uri: e.uri,
      extra: e.extra,
      timestamp: iso(new Date(e.timestamp)),
      source_dag_id: e.sourceDagId,
      source_task_id: e.sourceTaskId,
      source_run_id: e.sourceRunId,
      source_map_index: e.sourceMapIndex,
      source_alias_name: e.sourceAliasName,
    });
  return out;
}

/**
 * What a TypeScript task receives of its context: the plain values, as JSON. `var`, `conn` and
 * `macros` stay behind: its own process builds them (sdk/context.ts), reading variables and
 * connections through its runner when it asks, so no task carries every variable with it.
 */
export function contextForTask(context: Record<string, unknown>): Record<string, unknown> {
  const { var: _var, conn: _conn, macros: _macros, ...values } = context;
  return JSON.parse(JSON.stringify(values)) as Record<string, unknown>;
}

/** Compiled templates by source: tasks of one DAG share their fields' templates. */
const templates = new Map<string, nunjucks.Template>();

function compiled(source: string): nunjucks.Template {
  let template = templates.get(source);
  if (!template) {
    template = new nunjucks.Template(source, env);
    if (templates.size >= 1000) templates.delete(templates.keys().next().value!);
    templates.set(source, template);
  }
  return template;
}

export function renderFields(
  fields: Record<string, unknown>,
  context: Record<string, unknown>,
  where: string,
): Record<string, unknown> {
  const render = (value: unknown, path: string): unknown => {
    if (typeof value === "string") {
      // Only `{{`, `{%` and `{#` start template syntax: other strings render as themselves.
      if (!value.includes("{")) return value;
      try {
        return compiled(value).render(context);
      } catch (error) {
        throw new Error(
          `${where}: the template in ${path} could not be rendered: ${(error as Error).message.replace(/\s+/g, " ").trim()}`,
          { cause: error },
        );
      }
    }
    if (Array.isArray(value)) return value.map((v, i) => render(v, `${path}[${i}]`));
    if (value && typeof value === "object")
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, render(v, `${path}.${k}`)]));
    return value;
  };
  return render(fields, "fields") as Record<string, unknown>;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * Variables and connections for templates, with those of the environment (UPDRAFT_VAR_*, UPDRAFT_CONN_*)
 * winning, as in the secrets chain (secrets/backends.ts).
 */
export async function loadLookups(
  needs: { variables: boolean; connections: boolean },
  sources: {
    variables(): Promise<{ key: string; value: string }[]>;
    connections(): Promise<
      {
        connId: string;
        connType: string;
        host: string | null;
        login: string | null;
        password: string | null;
        schema: string | null;
        port: number | null;
        extra: string | null;
      }[]
    >;
  },
): Promise<Lookups> {
  const variables = new Map<string, string>();
  const connections = new Map<string, Record<string, unknown>>();
  if (needs.variables) {
    for (const v of await sources.variables()) variables.set(v.key, v.value);
    for (const [key, value] of environmentVariables()) variables.set(key, value);
  }
  if (needs.connections) {
    for (const c of [...(await sources.connections()), ...environmentConnections()]) {
      connections.set(c.connId, {
        conn_type: c.connType,
        host: c.host,
        login: c.login,
        password: c.password,
        schema: c.schema,
        port: c.port,
        extra: c.extra,
        extra_dejson: c.extra ? safeJson(c.extra) : {},
      });
    }
  }
  return { variables, connections };
}

/** Which lookups a task's templates use, so a task that uses none costs no query. */
export function lookupNeeds(fields: Record<string, unknown>): {
  variables: boolean;
  connections: boolean;
  previousSuccess: boolean;
  /** The task ids `xcom_pull` names as string literals ([] when it names none that way); null: no pull. */
  xcomTasks: string[] | null;
} {
  const text = JSON.stringify(fields);
  return {
    variables: /\bvar\./.test(text),
    connections: /\bconn\./.test(text),
    previousSuccess: /\bprev_/.test(text),
    xcomTasks: pulledTaskIds(text),
  };
}

/** Every quoted string inside `xcom_pull(...)`: the task ids (and keys, which cost a lookup of nothing). */
function pulledTaskIds(text: string): string[] | null {
  const calls = [...text.matchAll(/xcom_pull\s*\(([^)]*)\)/g)];
  if (calls.length === 0) return null;
  const ids = calls.flatMap((c) => [...c[1]!.matchAll(/\\?["']([^"'\\]+)\\?["']/g)].map((m) => m[1]!));
  return [...new Set(ids)];
}
