/** Opening the metadata database from its URL: `sqlite:///path`, `postgresql://...`, `mysql://...`. */
import { isAbsolute, resolve } from "node:path";
import {
  Kysely,
  sql,
  type AbortableOperationOptions,
  type CompiledQuery,
  type DatabaseConnection,
  type Dialect,
} from "kysely";
import { UpdraftError } from "../core/errors.ts";
import type { DialectAdapter } from "./dialect.ts";
import { databaseHealth, type DatabaseHealth } from "./health.ts";
import { mysqlAdapter } from "./dialects/mysql/index.ts";
import { postgresAdapter } from "./dialects/postgres/index.ts";
import { sqliteAdapter } from "./dialects/sqlite/index.ts";
import type { Tables } from "./schema.ts";

export interface Database {
  readonly db: Kysely<Tables>;
  readonly adapter: DialectAdapter;
  /** Whether the database can be reached now; services log its changes, the API answers 503. */
  readonly health: DatabaseHealth;
  /**
   * Statements sent to the database by this process so far (each a round trip, BEGIN and COMMIT
   * included): the `updraft_database_statements_total` metric and the benchmark's round trips.
   */
  statements(): number;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** PostgreSQL only: work inside this schema (tests use one each). */
  postgresSchema?: string;
  poolSize?: number;
}

export function adapterForUrl(url: string, options: DatabaseOptions = {}): DialectAdapter {
  const scheme = url.slice(0, url.indexOf(":")).toLowerCase();
  switch (scheme) {
    case "sqlite":
      return sqliteAdapter(sqlitePath(url));
    case "postgres":
    case "postgresql":
      return postgresAdapter({
        url: url.replace(/^postgres(ql)?\+\w+:/, "postgresql:"),
        schema: options.postgresSchema,
        poolSize: options.poolSize,
      });
    case "mysql":
    case "mariadb":
      return mysqlAdapter({ url, poolSize: options.poolSize });
    default:
      throw new UpdraftError(
        "DATABASE_URL_INVALID",
        `database.url "${redactUrl(url)}" is not supported: use sqlite:///path/to/updraft.db, postgresql://user:pass@host:5432/db or mysql://user:pass@host:3306/db`,
      );
  }
}

/** `sqlite:///abs/path`, `sqlite:////abs/path` (Airflow's form) and `sqlite:relative.db` all work. */
function sqlitePath(url: string): string {
  const rest = url.replace(/^sqlite:(\/\/)?/i, "");
  if (rest === ":memory:" || rest === "/:memory:") return ":memory:";
  const path = rest.replace(/^\/+/, "/");
  return isAbsolute(path) ? path : resolve(path);
}

export function redactUrl(url: string): string {
  return url.replace(/(\/\/[^:/@]*:)[^@]*@/, "$1***@");
}

export function openDatabase(url: string, options: DatabaseOptions = {}): Database {
  const adapter = adapterForUrl(url, options);
  // The probe runs only after `db` exists (on a failure it reports).
  const health = databaseHealth({ probe: () => sql`select 1`.execute(db) });
  const suspect = (error: unknown) => health.suspect(error);
  const counter = { statements: 0 };
  const db = new Kysely<Tables>({
    dialect: watched(adapter.createKyselyDialect({ onConnectionError: suspect }), suspect, counter),
  });
  return {
    db,
    adapter,
    health,
    statements: () => counter.statements,
    close: () => {
      health.close();
      return db.destroy();
    },
  };
}

/**
 * The dialect, with every failure to get a connection reported (the pools' 'error' events cover
 * connections lost later). Only acquiring is watched: it happens once per query or transaction, and
 * a refused connection is how an outage starts. Each connection counts the statements it sends
 * (Kysely's transactions send BEGIN and COMMIT through the same call).
 */
function watched(
  dialect: Dialect,
  onError: (error: unknown) => void,
  counter: { statements: number },
): Dialect {
  const counted = new WeakSet<DatabaseConnection>();
  const count = (connection: DatabaseConnection) => {
    if (counted.has(connection)) return connection;
    counted.add(connection);
    const execute = connection.executeQuery.bind(connection);
    connection.executeQuery = <R>(query: CompiledQuery, options?: AbortableOperationOptions) => {
      // Transaction control is counted by the driver below (SQLite's goes around this connection).
      if (!TRANSACTION_CONTROL.test(query.sql)) counter.statements++;
      return execute<R>(query, options);
    };
    return connection;
  };
  return {
    createAdapter: () => dialect.createAdapter(),
    createQueryCompiler: () => dialect.createQueryCompiler(),
    createIntrospector: (db) => dialect.createIntrospector(db),
    createDriver: () => {
      const driver = dialect.createDriver();
      const acquire = driver.acquireConnection.bind(driver);
      driver.acquireConnection = (options) =>
        acquire(options).then(count, (error: unknown) => {
          onError(error);
          throw error;
        });
      for (const step of ["beginTransaction", "commitTransaction", "rollbackTransaction"] as const) {
        const original = driver[step].bind(driver) as (c: DatabaseConnection, s?: unknown) => Promise<void>;
        (driver[step] as (c: DatabaseConnection, s?: unknown) => Promise<void>) = (c, s) => {
          counter.statements++;
          return original(c, s);
        };
      }
      return driver;
    },
  };
}

const TRANSACTION_CONTROL = /^\s*(begin|start transaction|commit|rollback)\b/i;

/** Now, as stored: ISO-8601 UTC with milliseconds. */
export function nowIso(clock: () => number = Date.now): string {
  return new Date(clock()).toISOString();
}
