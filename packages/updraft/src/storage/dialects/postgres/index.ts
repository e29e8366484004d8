/** PostgreSQL through `pg`. Row locks with SKIP LOCKED let several schedulers claim work at once. */
import { PostgresDialect, sql, type SqlBool } from "kysely";
import pg from "pg";
import type { DialectAdapter, DialectEvents } from "../../dialect.ts";
import { postgresWakeups } from "./wakeups.ts";
import { postgresOwnerLocks } from "./owner-locks.ts";

/**
 * How long opening one connection may take. Unbounded (pg's default), a connection attempt into a
 * network partition hangs for minutes, and so does whatever waits for it.
 */
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * A client whose connection attempt is bounded. Set on the pool instead, the same option would
 * also bound the wait for a free pooled connection, which under load (a thousand tasks starting)
 * is long and healthy.
 */
class BoundedClient extends pg.Client {
  constructor(config: pg.ClientConfig = {}) {
    super({ ...config, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  }
}

export interface PostgresOptions {
  url: string;
  /** A schema to work in (tests use a fresh one each); it is created if missing. */
  schema?: string;
  poolSize?: number;
}

export function postgresAdapter(options: PostgresOptions): DialectAdapter {
  const url = new URL(options.url);
  return {
    name: "postgres",
    description: `postgresql ${url.hostname}:${url.port || 5432}${url.pathname}${options.schema ? ` schema ${options.schema}` : ""}`,
    capabilities: {
      supportsSkipLocked: true,
      supportsMultipleWriters: true,
      supportsReturning: true,
      supportsOnConflict: true,
      sortsNullsLargest: true,
    },
    // One array per column: four parameters whatever the number of keys.
    keysIn: (columns, rows, integers = []) =>
      sql<SqlBool>`(${sql.join(columns.map((c) => sql.ref(c)))}) in (select * from unnest(${sql.join(
        columns.map((_, i) => sql`${rows.map((r) => r[i])}::${sql.raw(integers[i] ? "int" : "text")}[]`),
      )}))`,
    secondsBetween: (start, end) =>
      sql<number | null>`extract(epoch from (${end}::timestamptz - ${start}::timestamptz))::float8`,
    columnTypes: { longText: "text" },
    ownerLocks: postgresOwnerLocks(options.url, options.schema),
    wakeups: postgresWakeups(options.url, options.schema),
    // Plain VACUUM makes the space reusable without the exclusive lock VACUUM FULL would take.
    reclaimSpace: async (db, tables) => {
      await sql`vacuum (analyze) ${sql.join(tables.map((t) => sql.table(t)))}`.execute(db);
    },
    createKyselyDialect: (events: DialectEvents = {}) =>
      new PostgresDialect({
        pool: async () => {
          if (options.schema) await createSchema(options.url, options.schema);
          return listenedPool(
            new pg.Pool({
              connectionString: options.url,
              max: options.poolSize ?? 10,
              Client: BoundedClient,
              keepAlive: true,
              // Set at connection start-up, so no query can run before it takes effect.
              ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}),
            }),
            events,
          );
        },
      }),
  };
}

/**
 * A lost connection (a restart, pg_terminate_backend, a network fault) is an 'error' event: on the
 * pool while the connection is idle, on the client itself while it is checked out (the pool stops
 * listening then, and Kysely holds a client for every query and transaction). Unheard, either ends
 * the process. Every client is heard for its whole life; the query that was running still fails
 * with the error, and the pool discards the client.
 */
function listenedPool(pool: pg.Pool, events: DialectEvents): pg.Pool {
  const lost = (error: Error) => events.onConnectionError?.(error);
  pool.on("error", lost);
  pool.on("connect", (client) => client.on("error", lost));
  return pool;
}

async function createSchema(url: string, schema: string): Promise<void> {
  const client = new pg.Client(url);
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema.replaceAll('"', '""')}"`);
  } finally {
    await client.end();
  }
}
