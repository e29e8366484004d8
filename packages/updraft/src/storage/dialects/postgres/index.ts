/** PostgreSQL through `pg`. Row locks with SKIP LOCKED let several schedulers claim work at once. */
import { PostgresDialect } from "kysely";
import pg from "pg";
import type { DialectAdapter } from "../../dialect.ts";
import { postgresOwnerLocks } from "./owner-locks.ts";

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
    },
    columnTypes: { longText: "text" },
    ownerLocks: postgresOwnerLocks(options.url, options.schema),
    createKyselyDialect: () =>
      new PostgresDialect({
        pool: async () => {
          if (options.schema) await createSchema(options.url, options.schema);
          const pool = new pg.Pool({
            connectionString: options.url,
            max: options.poolSize ?? 10,
            // Set at connection start-up, so no query can run before it takes effect.
            ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}),
          });
          // An idle connection the server closes (a restart, pg_terminate_backend) is an 'error'
          // event on the pool; unheard, it would end the process. The pool replaces the connection.
          pool.on("error", (error) =>
            console.error(`updraft: an idle PostgreSQL connection failed and is replaced: ${error.message}`),
          );
          return pool;
        },
      }),
  };
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
