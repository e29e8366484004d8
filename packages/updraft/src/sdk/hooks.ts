/**
 * Hooks (Airflow's HttpHook and DbApiHook): a connection's client, for TypeScript tasks. They run in
 * the task's process and get their connection through getConnection(), like any task code; the
 * http() and sql() operators and the http and sql sensors are built on them.
 *
 * @example
 * ```ts
 * task("load", async () => {
 *   const users = await httpHook("crm").run({ endpoint: "/users" });
 *   const db = sqlHook("warehouse");
 *   try {
 *     for (const u of users.json<{ id: number }[]>()) await db.query("INSERT INTO u VALUES ($1)", [u.id]);
 *   } finally {
 *     await db.close();
 *   }
 * });
 * ```
 */
import {
  connectionHeaders,
  httpBaseUrl,
  joinUrl,
  openSql,
  rowObjects,
  splitStatements,
  type SqlClient,
  type SqlParameters,
  type SqlResult,
} from "../connections/clients.ts";
import { describe } from "./fail.ts";
import { findConnection, getConnection } from "./lookups.ts";

export type { SqlParameters } from "../connections/clients.ts";

// ---------------------------------------------------------------------------------------------
// httpHook

/** One request of httpHook().run(): Airflow's HttpHook.run arguments, camelCased. */
export interface HttpRequestOptions {
  /** Default "GET" (the hook's method). */
  method?: string;
  /** The path after the connection's base URL, or a whole URL. Default "". */
  endpoint?: string;
  /** A GET's query parameters (an object), or the body (objects are sent as JSON). */
  data?: unknown;
  /** Request headers, over the connection's. */
  headers?: Record<string, string>;
  /** Milliseconds one request may take. Default 60000. */
  timeoutMs?: number;
}

/** An HTTP answer. */
export interface HttpResponse {
  status: number;
  /** Whether the status is 2xx. */
  ok: boolean;
  url: string;
  /** Header names in lower case. */
  headers: Record<string, string>;
  /** The body as text. */
  text: string;
  /** The same as `text` (httpSensor's name). */
  body: string;
  /** The body parsed as JSON (throws when it is not JSON). */
  json<T = unknown>(): T;
}

export interface HttpHook {
  readonly connId: string;
  /** Sends one request; any status is an answer (check `ok`), a refused connection or timeout throws. */
  run(request?: HttpRequestOptions): Promise<HttpResponse>;
}

/**
 * An HTTP client on an `http` connection (Airflow's HttpHook): the base URL from its host (with or
 * without a scheme), schema (the scheme, default http) and port; basic auth from its login and
 * password; its extra's string values (and an extra `headers` object) as headers.
 */
export function httpHook(connId = "http_default", options: { method?: string } = {}): HttpHook {
  return {
    connId,
    run: async (request = {}) => {
      const prepared = await prepareRequest(connId, { method: options.method, ...request });
      return sendRequest(prepared, request.timeoutMs ?? 60_000);
    },
  };
}

export interface PreparedRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string | undefined;
}

/** The request from the connection and the options (Airflow's HttpHook.run). */
export async function prepareRequest(connId: string, r: HttpRequestOptions): Promise<PreparedRequest> {
  const endpoint = r.endpoint ?? "";
  const method = (r.method ?? "GET").toUpperCase();
  const absolute = /^https?:\/\//i.test(endpoint);
  // A whole URL needs no connection, but takes its credentials when there is one.
  const conn = absolute ? await findConnection(connId) : await getConnection(connId);
  const headers = conn ? connectionHeaders(conn) : {};
  for (const [k, v] of Object.entries(r.headers ?? {})) headers[k.toLowerCase()] = String(v);
  let url = absolute ? endpoint : joinUrl(httpBaseUrl(conn!), endpoint);
  const data = r.data;
  if ((method === "GET" || method === "HEAD") && data && typeof data === "object") {
    const query = new URLSearchParams(
      Object.entries(data).map(([k, v]): [string, string] => [
        k,
        typeof v === "string" ? v : JSON.stringify(v),
      ]),
    );
    url += (url.includes("?") ? "&" : "?") + query.toString();
  }
  const body = bodyOf(data, method) ?? undefined;
  if (body !== undefined && typeof data === "object") headers["content-type"] ??= "application/json";
  return { method, url, headers, body };
}

/** The body a request sends: none for a GET or HEAD (their data is the query), objects as JSON. */
export function bodyOf(data: unknown, method: string): string | null {
  if (data === null || data === undefined || ["GET", "HEAD"].includes(method.toUpperCase())) return null;
  return typeof data === "string" ? data : JSON.stringify(data);
}

/** Sends a prepared request; a refused connection or a timeout throws. */
export async function sendRequest(r: PreparedRequest, timeoutMs: number): Promise<HttpResponse> {
  const response = await fetch(r.url, {
    method: r.method,
    headers: r.headers,
    body: r.body,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.text();
  return {
    status: response.status,
    ok: response.ok,
    url: r.url,
    headers: Object.fromEntries(response.headers),
    text,
    body: text,
    json: <T>() => JSON.parse(text) as T,
  };
}

/** The body as an operator's XCom: parsed when it is JSON (by its content type, or, without one, by its text), else the text. */
export function responseValue(response: HttpResponse): unknown {
  const type = response.headers["content-type"] ?? "";
  if (/json/i.test(type)) return response.json();
  if (type === "" && response.text.trim() !== "") {
    try {
      return response.json();
    } catch {
      return response.text;
    }
  }
  return response.text;
}

// ---------------------------------------------------------------------------------------------
// sqlHook

/** What a statement's handler receives besides its rows. */
export interface SqlStatementInfo {
  /** The statement's column names; null when it returns no rows (an INSERT, a DDL). */
  columns: string[] | null;
  /** The statement itself. */
  statement: string;
}

/** Options of sqlHook().run(): Airflow's DbApiHook.run arguments, camelCased. */
export interface SqlRunOptions<R = unknown> {
  /** Bound natively by the driver: a list ($1 in PostgreSQL, ? in MySQL and SQLite), or named (:name, MySQL and SQLite). */
  parameters?: SqlParameters;
  /** Split a script at its semicolons and run each statement. Default false. */
  split?: boolean;
  /** With `split`, return only the last statement's result, not the list. Default true. */
  returnLast?: boolean;
  /**
   * Makes each statement's result from its rows (objects keyed by column); default: the rows, or
   * null for a statement that returns none (Airflow's fetch_all_handler).
   */
  handler?: (rows: Record<string, unknown>[], info: SqlStatementInfo) => R | Promise<R>;
  /** Commit each statement on its own instead of all of them together at the end. Default false. */
  autocommit?: boolean;
}

export interface SqlHook {
  readonly connId: string;
  /** One statement's rows, as objects keyed by column ([] for a statement that returns none). */
  query<T = Record<string, unknown>>(sql: string, parameters?: SqlParameters): Promise<T[]>;
  /** One statement's columns and rows as lists of cells. */
  execute(sql: string, parameters?: SqlParameters): Promise<SqlResult>;
  /**
   * Runs a statement, a script (`split`), or a list of statements in one transaction (Airflow's
   * DbApiHook.run): one statement gives its result, a list (or a split script with returnLast:
   * false) the list of their results.
   */
  run<R = unknown>(sql: string | readonly string[], options?: SqlRunOptions<R>): Promise<unknown>;
  /** Closes the connection the hook opened (a new call opens another). */
  close(): Promise<void>;
}

/**
 * A SQL client on a `postgres`, `mysql` (or `mariadb`) or `sqlite` connection (Airflow's
 * DbApiHook). It connects at its first statement and stays connected until close().
 */
export function sqlHook(connId: string, options: { readOnly?: boolean } = {}): SqlHook {
  let client: Promise<SqlClient> | undefined;
  const open = () => (client ??= getConnection(connId).then((conn) => openSql(conn, options)));
  const execute = async (sql: string, parameters?: SqlParameters) => (await open()).execute(sql, parameters);
  const hook: SqlHook = {
    connId,
    execute,
    query: async <T>(sql: string, parameters?: SqlParameters) =>
      rowObjects(await execute(sql, parameters)) as T[],
    run: (sql, runOptions) => runStatements(execute, sql, runOptions ?? {}),
    close: async () => {
      const opened = client;
      client = undefined;
      if (opened) await (await opened.catch(() => undefined))?.close();
    },
  };
  return hook;
}

type Execute = (sql: string, parameters?: SqlParameters) => Promise<SqlResult>;

async function runStatements(
  execute: Execute,
  sql: string | readonly string[],
  o: SqlRunOptions,
): Promise<unknown> {
  const statements = statementsOf(sql, o.split === true);
  if (statements.length === 0) throw new Error(`no SQL statement to run in ${describe(sql)}`);
  const transaction = o.autocommit !== true && statements.length > 1;
  const results: unknown[] = [];
  if (transaction) await execute("BEGIN");
  try {
    for (const statement of statements) {
      const result = await execute(statement, o.parameters);
      const rows = result.columns === null ? null : rowObjects(result);
      const info = { columns: result.columns, statement };
      results.push(o.handler ? await o.handler(rows ?? [], info) : rows);
    }
    if (transaction) await execute("COMMIT");
  } catch (error) {
    if (transaction) await execute("ROLLBACK").catch(() => {});
    throw error;
  }
  // Airflow's return_single_query_results: one string gives one result unless split without returnLast.
  const single = typeof sql === "string" && (o.returnLast !== false || o.split !== true);
  return single ? results.at(-1) : results;
}

function statementsOf(sql: string | readonly string[], split: boolean): string[] {
  if (typeof sql !== "string") return sql.map((s) => s.trim()).filter((s) => s !== "");
  return split ? splitStatements(sql) : [sql];
}

/** A cell as JSON: drivers' BigInt, Date and bytes as text. */
export function jsonCell(cell: unknown): unknown {
  if (typeof cell === "bigint") return cell.toString();
  if (cell instanceof Date) return cell.toISOString();
  if (cell instanceof Uint8Array) return Buffer.from(cell).toString("base64");
  return cell ?? null;
}
