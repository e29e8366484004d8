/**
 * The clients of the connection types Updraft ships drivers for: SQL (pg, mysql2, node:sqlite) and
 * HTTP (fetch). One owner for the driver code: the SDK's hooks and operators (in a task's process),
 * sqlSensor, and the registry's connection tests (in the API or CLI process) all open them here.
 *
 * Drivers are imported when a client opens, so nothing here costs anything while a DAG file is parsed.
 */

/** What a client needs of a connection (the SDK's Connection and a stored one both fit). */
export interface ClientConnection {
  connId: string;
  connType: string;
  host: string | null;
  port: number | null;
  login: string | null;
  password: string | null;
  schema: string | null;
  extra: Record<string, unknown>;
}

/** Query parameters: positional ($1 in PostgreSQL, ? in MySQL and SQLite), or named (:name, MySQL and SQLite). */
export type SqlParameters = readonly unknown[] | Record<string, unknown>;

/** One statement's answer: its columns and rows (cells in column order); `columns` is null when it returns no rows (an INSERT, a DDL). */
export interface SqlResult {
  columns: string[] | null;
  rows: unknown[][];
}

export interface SqlClient {
  execute(sql: string, parameters?: SqlParameters): Promise<SqlResult>;
  close(): Promise<void>;
}

export const SQL_TYPES = ["postgres", "postgresql", "mysql", "mariadb", "sqlite"] as const;

export interface OpenOptions {
  /** SQLite only: open the file read-only (a sensor's check never creates it). */
  readOnly?: boolean;
  /** Milliseconds to wait to connect (and, for PostgreSQL, for a query). */
  timeoutMs?: number;
}

/** Opens a SQL client on the connection; a type without a SQL driver is a clear error. */
export async function openSql(conn: ClientConnection, options: OpenOptions = {}): Promise<SqlClient> {
  const type = conn.connType.toLowerCase();
  if (type === "postgres" || type === "postgresql") return openPostgres(conn, options);
  if (type === "mysql" || type === "mariadb") return openMysql(conn, options);
  if (type === "sqlite") return openSqlite(conn, options);
  throw new Error(
    `connection "${conn.connId}" is of type "${conn.connType}": SQL runs on postgres, mysql (mariadb) and sqlite connections`,
  );
}

async function openPostgres(conn: ClientConnection, options: OpenOptions): Promise<SqlClient> {
  const { default: pg } = await import("pg");
  const sslmode = String(conn.extra.sslmode ?? "");
  const client = new pg.Client({
    host: conn.host ?? undefined,
    port: conn.port ?? 5432,
    user: conn.login ?? undefined,
    password: conn.password ?? undefined,
    database: conn.schema || undefined,
    ...(options.timeoutMs
      ? { connectionTimeoutMillis: options.timeoutMs, query_timeout: options.timeoutMs }
      : {}),
    ...(["require", "verify-ca", "verify-full"].includes(sslmode)
      ? { ssl: { rejectUnauthorized: sslmode !== "require" } }
      : {}),
  });
  // A dropped connection is reported by the query that meets it, not as an unhandled event.
  client.on("error", () => {});
  await client.connect();
  return {
    async execute(sql, parameters) {
      if (parameters && !Array.isArray(parameters))
        throw new Error(
          `connection "${conn.connId}" (postgres) takes positional parameters ($1, $2): pass a list`,
        );
      const result = await client.query({
        text: sql,
        values: (parameters as unknown[]) ?? [],
        rowMode: "array",
      });
      // A string of several statements answers a list; its last one is what the string returns.
      const last = Array.isArray(result) ? (result.at(-1) as typeof result) : result;
      const fields = last?.fields ?? [];
      return fields.length === 0 && last?.command !== "SELECT"
        ? { columns: null, rows: [] }
        : { columns: fields.map((f) => f.name), rows: (last?.rows ?? []) as unknown[][] };
    },
    close: () => client.end().catch(() => {}),
  };
}

async function openMysql(conn: ClientConnection, options: OpenOptions): Promise<SqlClient> {
  const { createConnection } = await import("mysql2/promise");
  const client = await createConnection({
    host: conn.host ?? undefined,
    port: conn.port ?? 3306,
    user: conn.login ?? undefined,
    password: conn.password ?? undefined,
    database: conn.schema || undefined,
    ...(options.timeoutMs ? { connectTimeout: options.timeoutMs } : {}),
  });
  client.on("error", () => {});
  return {
    async execute(sql, parameters) {
      const named = parameters !== undefined && !Array.isArray(parameters);
      const [rows, fields] = await client.query({
        sql,
        values: parameters as never,
        rowsAsArray: true,
        namedPlaceholders: named,
      });
      if (!Array.isArray(rows) || !fields) return { columns: null, rows: [] };
      return { columns: (fields as { name: string }[]).map((f) => f.name), rows: rows as unknown[][] };
    },
    close: () => client.end().catch(() => {}),
  };
}

async function openSqlite(conn: ClientConnection, options: OpenOptions): Promise<SqlClient> {
  const { DatabaseSync } = await import("node:sqlite");
  const path = conn.host || conn.schema;
  if (!path)
    throw new Error(
      `connection "${conn.connId}": an sqlite connection's host is the database file (sqlite:////data/app.db)`,
    );
  // A writer holding the file's lock for a moment is waited for, not an error.
  const db = new DatabaseSync(path, {
    readOnly: options.readOnly === true,
    timeout: options.timeoutMs ?? 5000,
  });
  return {
    async execute(sql, parameters) {
      const statement = db.prepare(sql);
      const args = (
        parameters === undefined ? [] : Array.isArray(parameters) ? parameters : [parameters]
      ) as never[];
      const columns = statement.columns().map((c) => c.name);
      if (columns.length === 0) {
        statement.run(...args);
        return { columns: null, rows: [] };
      }
      statement.setReturnArrays(true);
      return { columns, rows: statement.all(...args) as unknown as unknown[][] };
    },
    close: async () => db.close(),
  };
}

/** Rows as objects keyed by column (a later column of the same name wins, as in a dict). */
export function rowObjects(result: SqlResult): Record<string, unknown>[] {
  const columns = result.columns ?? [];
  return result.rows.map((row) => Object.fromEntries(columns.map((c, i) => [c, row[i]])));
}

/**
 * Splits a script into statements at semicolons outside quotes, comments and PostgreSQL's dollar
 * quotes (Airflow's split_sql_string); empty statements are dropped.
 */
export function splitStatements(script: string): string[] {
  const out: string[] = [];
  let start = 0;
  let i = 0;
  const n = script.length;
  while (i < n) {
    const c = script[i]!;
    if (c === "'" || c === '"' || c === "`") i = skipQuoted(script, i, c);
    else if (c === "-" && script[i + 1] === "-") i = lineEnd(script, i);
    else if (c === "/" && script[i + 1] === "*") i = blockEnd(script, i);
    else if (c === "$") i = skipDollar(script, i);
    else if (c === ";") {
      out.push(script.slice(start, i));
      start = ++i;
    } else i++;
  }
  out.push(script.slice(start));
  return out.map((s) => s.trim()).filter((s) => s !== "" && !/^(--[^\n]*\n?|\/\*[\s\S]*?\*\/|\s)*$/.test(s));
}

function skipQuoted(s: string, i: number, quote: string): number {
  for (let j = i + 1; j < s.length; j++) {
    if (s[j] === "\\" && quote !== "`") j++;
    else if (s[j] === quote) {
      if (s[j + 1] === quote) j++;
      else return j + 1;
    }
  }
  return s.length;
}

function lineEnd(s: string, i: number): number {
  const end = s.indexOf("\n", i);
  return end < 0 ? s.length : end + 1;
}

function blockEnd(s: string, i: number): number {
  const end = s.indexOf("*/", i + 2);
  return end < 0 ? s.length : end + 2;
}

function skipDollar(s: string, i: number): number {
  const tag = /^\$[A-Za-z_]*\$/.exec(s.slice(i))?.[0];
  if (!tag) return i + 1;
  const end = s.indexOf(tag, i + tag.length);
  return end < 0 ? s.length : end + tag.length;
}

// ---------------------------------------------------------------------------------------------
// HTTP

/** The connection's base URL as Airflow's HttpHook builds it: host (with or without a scheme), schema, port. */
export function httpBaseUrl(conn: Pick<ClientConnection, "host" | "schema" | "port" | "connId">): string {
  const host = conn.host ?? "";
  if (!host)
    throw new Error(`connection "${conn.connId}" has no host: give it one (https://api.example.com)`);
  let url = /:\/\//.test(host) ? host.replace(/\/+$/, "") : `${conn.schema || "http"}://${host}`;
  if (conn.port && !/:\d+$/.test(url)) url += `:${conn.port}`;
  return url;
}

/**
 * The headers a connection adds to each request (Airflow's HttpHook): its extra's string values
 * (an extra `headers` object too), and basic auth from login and password.
 */
export function connectionHeaders(conn: ClientConnection): Record<string, string> {
  const headers: Record<string, string> = {};
  const { headers: nested, ...rest } = conn.extra;
  for (const [k, v] of Object.entries(rest)) if (typeof v === "string") headers[k.toLowerCase()] = v;
  if (nested && typeof nested === "object")
    for (const [k, v] of Object.entries(nested)) if (typeof v === "string") headers[k.toLowerCase()] = v;
  if (conn.login) {
    const basic = Buffer.from(`${conn.login}:${conn.password ?? ""}`).toString("base64");
    headers.authorization ??= `Basic ${basic}`;
  }
  return headers;
}

export function joinUrl(base: string, endpoint: string): string {
  if (!endpoint) return base;
  return `${base.replace(/\/+$/, "")}/${endpoint.replace(/^\/+/, "")}`;
}
