/**
 * Variables and connections for a running TypeScript task (Airflow's Variable.get, Variable.set and
 * BaseHook.get_connection). A task never touches the database: it asks its runner (the scheduler's
 * TaskFlow pool, or a worker that asks the Task Execution API with the try's token), and secret
 * values it receives are masked in its log. Its writes are fenced by its try: a try that no longer
 * runs its task instance (cleared, replaced) writes nothing.
 */
import { connectionToUri } from "../connections/uri.ts";

const LOOKUP_SLOT = Symbol.for("updraft.task-lookup");
const WRITE_SLOT = Symbol.for("updraft.task-write");

type Lookup = (
  what: "variable" | "connection" | "external_states" | "email_settings",
  key: string,
) => Promise<unknown>;
type Write = (variable: {
  key: string;
  value: string;
  description?: string | null;
}) => Promise<{ shadowedBy: string | null }>;

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

function slot<T>(name: symbol): T {
  const fn = (globalThis as Record<symbol, unknown>)[name];
  if (typeof fn !== "function")
    throw new Error(
      "getVariable(), setVariable() and getConnection() are only available while a task runs, inside its function",
    );
  return fn as T;
}

const lookup = () => slot<Lookup>(LOOKUP_SLOT);

/** For the TaskFlow worker: sets (or clears) how lookups and writes reach the runner. */
export function setLookup(fn: Lookup | undefined, write?: Write): void {
  (globalThis as Record<symbol, unknown>)[LOOKUP_SLOT] = fn;
  (globalThis as Record<symbol, unknown>)[WRITE_SLOT] = fn ? write : undefined;
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

export interface SetVariableOptions {
  /** The variable's description (shown in the UI); without it, the stored one is kept. */
  description?: string;
  /**
   * Write the value as JSON even when it is a string (Airflow's serialize_json). Values that are not
   * strings are always written as JSON.
   */
  serializeJson?: boolean;
}

/**
 * Writes a variable to the metadata database from a running task (Airflow's Variable.set). A string
 * is stored as it is; any other value (or any value with `serializeJson`) as JSON, indented two spaces
 * as Airflow's serialize_json writes it; read it back with `getVariable(key, { json: true })`. A
 * variable stored as secret stays secret (encrypted, masked in logs); a new one is secret when its
 * name says so (`password`, `token`, ...).
 *
 * The write belongs to this try: a try that no longer runs its task instance (it was cleared, marked,
 * or replaced after being presumed dead) writes nothing, and setVariable rejects. An environment
 * variable `UPDRAFT_VAR_<KEY>` wins over the database on every read, so a write it shadows is not what
 * getVariable returns: setVariable says so in the task's log.
 *
 * @example
 * ```ts
 * import { getVariable, setVariable, task } from "updraft";
 *
 * const remember = task("remember", async () => {
 *   await setVariable("last_export", new Date().toISOString());
 *   await setVariable("export_stats", { rows: 1200, files: 3 }, { description: "written by remember" });
 * });
 * const report = task("report", async () => {
 *   const stats = await getVariable<{ rows: number }>("export_stats", { json: true });
 *   return stats.rows;
 * });
 * ```
 */
export async function setVariable(
  key: string,
  value: unknown,
  options: SetVariableOptions = {},
): Promise<void> {
  const write = slot<Write>(WRITE_SLOT);
  const text = typeof value === "string" && !options.serializeJson ? value : JSON.stringify(value, null, 2);
  if (typeof text !== "string")
    throw new Error(
      `variable "${key}": ${typeof value} cannot be stored; pass a string or a JSON value (object, array, number, boolean, null)`,
    );
  const written = await write({ key, value: text, description: options.description });
  if (written?.shadowedBy)
    console.warn(
      `variable "${key}" was written, but ${written.shadowedBy} is set in the environment and wins on every read: getVariable("${key}") returns that value`,
    );
}

export async function getConnection(connId: string): Promise<Connection> {
  const found = await findConnection(connId);
  if (!found)
    throw new Error(
      `connection "${connId}" does not exist: create it (updraft connections add ${connId} ...)`,
    );
  return found;
}

/** The connection, or undefined when it does not exist (the context's `conn.get(id, fallback)`). */
export async function findConnection(connId: string): Promise<Connection | undefined> {
  const c = (await lookup()("connection", connId)) as Record<string, unknown> | null;
  if (!c) return undefined;
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

/** Another DAG's runs (and task instances) at some logical dates, as its runner reads them for a task. */
export interface ExternalStates {
  dagExists: boolean;
  runs: { logicalDate: string; runId: string; state: string }[];
  taskInstances: { logicalDate: string; taskId: string; mapIndex: number; state: string | null }[];
}

/** For externalTaskSensor: the states it waits on, read through the runner (the task has no database). */
export async function externalStates(query: {
  dagId: string;
  taskIds: string[] | null;
  logicalDates: string[];
}): Promise<ExternalStates> {
  return (await lookup()("external_states", JSON.stringify(query))) as ExternalStates;
}

/**
 * The installation's email settings ([email] and [smtp], no secrets), read through the runner: user
 * code never reads the configuration file.
 */
export async function emailSettings(): Promise<EmailSettings> {
  // A runner that does not know the lookup answers null: Airflow's defaults, then.
  return ((await lookup()("email_settings", "")) as EmailSettings | null) ?? DEFAULT_EMAIL_SETTINGS;
}

const DEFAULT_EMAIL_SETTINGS: EmailSettings = {
  email_conn_id: "smtp_default",
  from_email: null,
  subject_template: null,
  html_content_template: null,
  base_url: null,
  smtp: {
    host: "localhost",
    port: 25,
    starttls: true,
    ssl: false,
    mail_from: "updraft@example.com",
    timeout: 30,
    retry_limit: 5,
  },
};

/** What sendEmail needs of the configuration: [email], [smtp] and [api] base_url, as the runner sends them. */
export interface EmailSettings {
  email_conn_id: string;
  /** [email] from_email; null when unset. */
  from_email: string | null;
  /** The content of the [email] subject_template / html_content_template files; null when unset. */
  subject_template: string | null;
  html_content_template: string | null;
  /** [api] base_url (for links to the UI); null when unset. */
  base_url: string | null;
  smtp: {
    host: string;
    port: number;
    starttls: boolean;
    ssl: boolean;
    mail_from: string;
    timeout: number;
    retry_limit: number;
  };
}
