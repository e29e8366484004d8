/**
 * The built-in triggers (sdk/triggers.ts makes their specs). They are Updraft's own code, so they run
 * in the triggerer process itself, each as one pending promise: a DateTimeTrigger is an entry in the
 * shared timer heap, the others poll every `pokeInterval` seconds. Each resolves with its event or
 * rejects (the trigger fails its task instances); an aborted one settles quietly.
 */
import { glob, stat } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import {
  connectionHeaders,
  httpBaseUrl,
  joinUrl,
  openSql,
  rowObjects,
  SQL_TYPES,
  type ClientConnection,
} from "../connections/clients.ts";
import { extraDejson, type Connection } from "../connections/uri.ts";
import type { Logger } from "../logging.ts";
import type { JsonValue } from "../sdk/json.ts";
import { TRIGGERS } from "../sdk/triggers.ts";
import type { Database } from "../storage/database.ts";
import type { TimerHeap } from "./timers.ts";

export interface BuiltinContext {
  database: Database;
  /** A connection as tasks get it (UPDRAFT_CONN_<ID>, then the database). */
  connection(connId: string): Promise<Connection | undefined>;
  timers: TimerHeap;
  log: Logger;
}

type Kwargs = Record<string, JsonValue>;
type BuiltinTrigger = (kwargs: Kwargs, ctx: BuiltinContext, signal: AbortSignal) => Promise<JsonValue>;

export const BUILTIN: Record<string, BuiltinTrigger> = {
  [TRIGGERS.dateTime]: dateTime,
  [TRIGGERS.file]: poll(fileExists),
  [TRIGGERS.http]: poll(httpAnswered),
  [TRIGGERS.sql]: poll(sqlTruthy),
  [TRIGGERS.externalTask]: poll(externalTaskDone),
  [TRIGGERS.dagRun]: poll(dagRunDone),
};

export const isBuiltin = (classpath: string) => Object.hasOwn(BUILTIN, classpath);

/** Fires at `moment` with the moment as its event. */
function dateTime(kwargs: Kwargs, ctx: BuiltinContext, signal: AbortSignal): Promise<JsonValue> {
  const moment = String(kwargs.moment);
  const at = Date.parse(moment);
  if (Number.isNaN(at)) return Promise.reject(new Error(`DateTimeTrigger: moment "${moment}" is not a date`));
  return new Promise((resolve) => {
    const cancel = ctx.timers.at(at, () => resolve(moment));
    signal.addEventListener("abort", cancel, { once: true });
  });
}

/** One look: an event when the condition holds, undefined to look again after pokeInterval. */
type Look = (kwargs: Kwargs, ctx: BuiltinContext) => Promise<JsonValue | undefined>;

/**
 * A polling trigger. A look that throws is logged and retried (a server briefly away is not a failed
 * wait); a configuration error (a connection that does not exist) fails at once.
 */
function poll(look: Look): BuiltinTrigger {
  return async (kwargs, ctx, signal) => {
    const everyMs = Math.max(0.05, Number(kwargs.pokeInterval ?? 5)) * 1000;
    let failing = false;
    for (;;) {
      signal.throwIfAborted();
      try {
        const event = await look(kwargs, ctx);
        if (event !== undefined) return event;
        failing = false;
      } catch (error) {
        if (error instanceof TriggerConfigError) throw error;
        if (!failing) ctx.log.warn({ err: error, kwargs }, "a trigger's poke failed; trying again");
        failing = true;
      }
      await sleep(everyMs, undefined, { signal });
    }
  };
}

/** A mistake in the trigger's arguments or its connection: the wait fails instead of polling forever. */
export class TriggerConfigError extends Error {}

const GLOB_CHARS = /[*?[\]{}]/;

async function fileExists(kwargs: Kwargs): Promise<JsonValue | undefined> {
  const filepath = String(kwargs.filepath);
  if (!GLOB_CHARS.test(filepath)) {
    const s = await stat(filepath).catch(() => null);
    return s?.isFile() ? { filepath } : undefined;
  }
  // Without `recursive`, "**" matches one level only (Airflow's FileTrigger).
  const pattern = kwargs.recursive ? filepath : filepath.replaceAll("**", "*");
  for await (const match of glob(pattern)) {
    const s = await stat(match).catch(() => null);
    if (s?.isFile()) return { filepath: match };
  }
  return undefined;
}

async function connection(ctx: BuiltinContext, connId: string): Promise<Connection> {
  const conn = await ctx.connection(connId);
  if (!conn) throw new TriggerConfigError(`connection "${connId}" does not exist`);
  return conn;
}

/** The connection as the shared clients take it (connections/clients.ts), its extra parsed. */
function client(conn: Connection): ClientConnection {
  return { ...conn, extra: extraDejson(conn) };
}

async function httpAnswered(kwargs: Kwargs, ctx: BuiltinContext): Promise<JsonValue | undefined> {
  const conn = await connection(ctx, String(kwargs.httpConnId ?? "http_default"));
  const endpoint = String(kwargs.endpoint ?? "");
  const url = endpoint.includes("://") ? endpoint : joinUrl(httpBaseUrl(conn), endpoint);
  const headers = connectionHeaders(client(conn));
  for (const [k, v] of Object.entries((kwargs.headers ?? {}) as Record<string, string>))
    headers[k.toLowerCase()] = v;
  const method = String(kwargs.method ?? "GET");
  const response = await fetch(url, {
    method,
    headers,
    body: method === "GET" || method === "HEAD" || kwargs.data == null ? undefined : String(kwargs.data),
    signal: AbortSignal.timeout(30_000),
  });
  const body = await response.text();
  return response.ok ? { status: response.status, body } : undefined;
}

/** The first cell of `sql`'s first row, through the connection's own driver. */
async function sqlTruthy(kwargs: Kwargs, ctx: BuiltinContext): Promise<JsonValue | undefined> {
  const conn = await connection(ctx, String(kwargs.connId));
  const row = await firstRow(conn, String(kwargs.sql));
  const first = row ? Object.values(row)[0] : undefined;
  if (!first || first === "0" || first === "false" || first === "f") return undefined;
  return {
    row: JSON.parse(JSON.stringify(row, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v))),
  };
}

/** The first row of `query`, through the shared SQL client (read-only for SQLite). */
async function firstRow(conn: Connection, query: string): Promise<Record<string, unknown> | undefined> {
  if (!(SQL_TYPES as readonly string[]).includes(conn.connType.toLowerCase()))
    throw new TriggerConfigError(
      `SqlTrigger: connection "${conn.connId}" is of type ${conn.connType}; postgres, mysql and sqlite are supported`,
    );
  if (conn.connType.toLowerCase() === "sqlite" && !(conn.host || conn.schema))
    throw new TriggerConfigError(`sqlite connection "${conn.connId}" names no file (its host)`);
  const sql = await openSql(client(conn), { readOnly: true, timeoutMs: 10_000 });
  try {
    return rowObjects(await sql.execute(query))[0];
  } finally {
    await sql.close();
  }
}

const strings = (v: JsonValue | undefined) => (Array.isArray(v) ? v.map(String) : []);

/** The other DAG's run of that logical date: its task's instances (all of them), or the run itself. */
async function externalTaskDone(kwargs: Kwargs, ctx: BuiltinContext): Promise<JsonValue | undefined> {
  const logicalDate = new Date(String(kwargs.logicalDate));
  if (Number.isNaN(logicalDate.getTime()))
    throw new TriggerConfigError(
      `ExternalTaskTrigger: logicalDate "${String(kwargs.logicalDate)}" is not a date`,
    );
  const { db } = ctx.database;
  const run = await db
    .selectFrom("dag_run")
    .select(["run_id", "state"])
    .where("dag_id", "=", String(kwargs.externalDagId))
    .where("logical_date", "=", logicalDate.toISOString())
    .executeTakeFirst();
  if (!run) return undefined;
  let states: string[];
  if (kwargs.externalTaskId == null) states = [run.state];
  else {
    const tis = await db
      .selectFrom("task_instance")
      .select("state")
      .where("dag_id", "=", String(kwargs.externalDagId))
      .where("run_id", "=", run.run_id)
      .where("task_id", "=", String(kwargs.externalTaskId))
      .execute();
    states = tis.map((t) => t.state ?? "none");
  }
  if (states.length === 0) return undefined;
  const failed = strings(kwargs.failedStates);
  if (states.some((s) => failed.includes(s))) return { status: "failed" };
  const allowed = strings(kwargs.allowedStates);
  return states.every((s) => allowed.includes(s)) ? { status: "success" } : undefined;
}

async function dagRunDone(kwargs: Kwargs, ctx: BuiltinContext): Promise<JsonValue | undefined> {
  const run = await ctx.database.db
    .selectFrom("dag_run")
    .select("state")
    .where("dag_id", "=", String(kwargs.dagId))
    .where("run_id", "=", String(kwargs.runId))
    .executeTakeFirst();
  return run && strings(kwargs.states).includes(run.state) ? { state: run.state } : undefined;
}
