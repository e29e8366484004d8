/**
 * Variables and connections for a running TypeScript task (Airflow's Variable.get and
 * BaseHook.get_connection). A task never reads the database: it asks its runner (the scheduler's
 * TaskFlow pool, or a worker that asks the Task Execution API with the try's token), and secret
 * values it receives are masked in its log.
 */
import { connectionToUri } from "../connections/uri.ts";

const LOOKUP_SLOT = Symbol.for("updraft.task-lookup");

type Lookup = (what: "variable" | "connection", key: string) => Promise<unknown>;

/** A connection as a task receives it; `extra` is parsed when it is JSON. */
export interface Connection {
  connId: string;
  connType: string;
  host: string | null;
  login: string | null;
  password: string | null;
  schema: string | null;
  port: number | null;
  extra: Record<string, unknown>;
  /** The connection as a URI, as Airflow's get_uri() writes it (`postgres://user:pass@host:5432/db`). */
  getUri(): string;
}

export interface GetVariableOptions<T> {
  /** Returned when the variable does not exist (without it, a missing variable is an error). */
  default?: T;
  /** Parse the value as JSON (Airflow's deserialize_json). */
  json?: boolean;
  /** The same as `json` (Airflow's name). */
  deserializeJson?: boolean;
}

function lookup(): Lookup {
  const fn = (globalThis as Record<symbol, unknown>)[LOOKUP_SLOT];
  if (typeof fn !== "function")
    throw new Error(
      "getVariable() and getConnection() are only available while a task runs, inside its function",
    );
  return fn as Lookup;
}

/** For the TaskFlow worker: sets (or clears) how lookups reach the runner. */
export function setLookup(fn: Lookup | undefined): void {
  (globalThis as Record<symbol, unknown>)[LOOKUP_SLOT] = fn;
}

export async function getVariable<T = string>(key: string, options: GetVariableOptions<T> = {}): Promise<T> {
  const found = (await lookup()("variable", key)) as { value: string } | null;
  if (!found) {
    if ("default" in options) return options.default as T;
    throw new Error(
      `variable "${key}" does not exist: create it (updraft variables set ${key} ...) or pass { default }`,
    );
  }
  if (!options.json && !options.deserializeJson) return found.value as T;
  try {
    return JSON.parse(found.value) as T;
  } catch (error) {
    throw new Error(`variable "${key}" is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
}

export async function getConnection(connId: string): Promise<Connection> {
  const c = (await lookup()("connection", connId)) as Record<string, unknown> | null;
  if (!c)
    throw new Error(
      `connection "${connId}" does not exist: create it (updraft connections add ${connId} ...)`,
    );
  let extra: Record<string, unknown> = {};
  if (typeof c.extra === "string" && c.extra.trim()) {
    try {
      extra = JSON.parse(c.extra) as Record<string, unknown>;
    } catch {
      extra = {};
    }
  }
  const connection = {
    connId: String(c.conn_id),
    connType: String(c.conn_type ?? ""),
    host: (c.host as string | null) ?? null,
    login: (c.login as string | null) ?? null,
    password: (c.password as string | null) ?? null,
    schema: (c.schema as string | null) ?? null,
    port: (c.port as number | null) ?? null,
  };
  const rawExtra = typeof c.extra === "string" && c.extra.trim() ? c.extra : null;
  return {
    ...connection,
    extra,
    getUri: () => connectionToUri({ ...connection, description: null, extra: rawExtra }),
  };
}
