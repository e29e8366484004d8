/**
 * The template context a task's fields are rendered with (Jinja syntax via nunjucks), and the same
 * values a TypeScript task gets from getCurrentContext(): ds, ts, logical_date, data interval,
 * run_id, dag_run.conf, params, var, conn, macros.
 */
import nunjucks from "nunjucks";
import { resolveParams } from "../core/params.ts";
import type { SerializedDag, SerializedTask } from "../core/serialized.ts";
import type { DagRunRow, TaskInstanceRow } from "../storage/schema.ts";

const env = new nunjucks.Environment(null, { autoescape: false, throwOnUndefined: true });

const isoNoMs = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, "+00:00");
const ds = (d: Date) => d.toISOString().slice(0, 10);

export interface Lookups {
  variables: Map<string, string>;
  connections: Map<string, Record<string, unknown>>;
}

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
  return {
    ds: ds(logical),
    ds_nodash: ds(logical).replaceAll("-", ""),
    ts: isoNoMs(logical),
    ts_nodash: isoNoMs(logical).slice(0, 19).replace(/[-:]/g, ""),
    ts_nodash_with_tz: isoNoMs(logical).replace(/[-:]/g, ""),
    logical_date: isoNoMs(logical),
    data_interval_start: run.data_interval_start ? isoNoMs(new Date(run.data_interval_start)) : null,
    data_interval_end: run.data_interval_end ? isoNoMs(new Date(run.data_interval_end)) : null,
    run_id: run.run_id,
    dag: { dag_id: dag.dagId, tags: dag.tags, owner: dag.owner },
    task: { task_id: task.taskId, kind: task.kind, retries: task.retries },
    ti: {
      try_number: ti.try_number,
      max_tries: ti.max_tries,
      map_index: ti.map_index,
      task_id: ti.task_id,
      dag_id: ti.dag_id,
      run_id: ti.run_id,
    },
    dag_run: { run_id: run.run_id, run_type: run.run_type, conf, logical_date: isoNoMs(logical) },
    params,
    var: { value: Object.fromEntries(lookups.variables), json: varJson },
    conn: Object.fromEntries(lookups.connections),
    task_instance_key_str: `${dag.dagId}__${task.taskId}__${ds(logical).replaceAll("-", "")}`,
    test_mode: false,
    macros: {
      ds_add: (value: string, days: number) =>
        ds(new Date(Date.parse(`${value}T00:00:00Z`) + days * 86_400_000)),
      ds_format: (value: string, input: string, output: string) => dsFormat(value, input, output),
    },
  };
}

export function renderFields(
  fields: Record<string, unknown>,
  context: Record<string, unknown>,
  where: string,
): Record<string, unknown> {
  const render = (value: unknown, path: string): unknown => {
    if (typeof value === "string") {
      try {
        return env.renderString(value, context);
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

/** Airflow's macros.ds_format for the common strftime codes. */
function dsFormat(value: string, input: string, output: string): string {
  const codes = ["%Y", "%m", "%d"];
  const pattern = new RegExp(
    `^${input
      .replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
      .replace(/%Y/g, "(\\d{4})")
      .replace(/%m/g, "(\\d{2})")
      .replace(/%d/g, "(\\d{2})")}$`,
  );
  const order = [...input.matchAll(/%[Ymd]/g)].map((m) => m[0]);
  const match = pattern.exec(value);
  if (!match) throw new Error(`macros.ds_format: "${value}" does not match "${input}"`);
  const parts = Object.fromEntries(order.map((code, i) => [code, match[i + 1]!]));
  return codes.reduce((out, code) => out.replaceAll(code, parts[code] ?? code), output);
}

/** Variables (and UPDRAFT_VAR_* from the environment, which win) and connections, for templates. */
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
    for (const [name, value] of Object.entries(process.env)) {
      if (name.startsWith("UPDRAFT_VAR_") && value !== undefined)
        variables.set(name.slice(12).toLowerCase(), value);
    }
  }
  if (needs.connections) {
    for (const c of await sources.connections()) {
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
export function lookupNeeds(fields: Record<string, unknown>): { variables: boolean; connections: boolean } {
  const text = JSON.stringify(fields);
  return { variables: /\bvar\./.test(text), connections: /\bconn\./.test(text) };
}
