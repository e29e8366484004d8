/** MySQL 8 and MariaDB 10.6+ through `mysql2`. Both have SKIP LOCKED. */
import { CompiledQuery, MysqlDialect, sql, type SqlBool } from "kysely";
import { createRequire } from "node:module";
import type * as Mysql2 from "mysql2";
import type { DialectAdapter, DialectEvents } from "../../dialect.ts";
import { mysqlWakeups } from "./wakeups.ts";
import { mysqlOwnerLocks } from "./owner-locks.ts";

// mysql2 loads when a MySQL database is opened, not in every process that could open one: it costs
// about 20 MB resident (a triggerer on SQLite or PostgreSQL holds 10,000 triggers in less than 100).
const require = createRequire(import.meta.url);
const mysql2 = () => require("mysql2") as typeof Mysql2;

export interface MysqlOptions {
  url: string;
  poolSize?: number;
}

/**
 * Every connection reads committed data, as on PostgreSQL (see ../../ADR.md S9): InnoDB's default,
 * REPEATABLE READ, keeps a lock on every row an UPDATE or a locking read scans and on the gaps
 * between them, so concurrent DAG parses, claims and run examinations deadlocked on rows they never
 * changed. Set when the connection is made, before any statement runs on it.
 */
export const SESSION_SETUP = ["SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED"];

/** How stored timestamps read: "2025-01-01T00:00:00.000Z". */
const ISO = sql.lit("%Y-%m-%dT%H:%i:%s.%fZ");

export function mysqlAdapter(options: MysqlOptions): DialectAdapter {
  const url = new URL(options.url.replace(/^mariadb:/, "mysql:"));
  return {
    name: "mysql",
    description: `mysql ${url.hostname}:${url.port || 3306}${url.pathname}`,
    capabilities: {
      supportsSkipLocked: true,
      supportsMultipleWriters: true,
      supportsReturning: false,
      supportsOnConflict: false,
      sortsNullsLargest: false,
    },
    // An OR of ANDs, which MySQL and MariaDB both turn into index ranges.
    keysIn: (columns, rows) =>
      sql<SqlBool>`(${sql.join(
        rows.map(
          (r) =>
            sql`(${sql.join(
              columns.map((c, i) => sql`${sql.ref(c)} = ${r[i]}`),
              sql` and `,
            )})`,
        ),
        sql` or `,
      )})`,
    secondsBetween: (start, end) =>
      sql<
        number | null
      >`(timestampdiff(microsecond, str_to_date(${start}, ${ISO}), str_to_date(${end}, ${ISO})) / 1000000)`,
    columnTypes: { longText: "longtext" },
    ownerLocks: mysqlOwnerLocks(url.toString()),
    wakeups: mysqlWakeups(),
    // InnoDB answers OPTIMIZE with an online rebuild and analyze of each table.
    reclaimSpace: async (db, tables) => {
      await sql`optimize table ${sql.join(tables.map((t) => sql.table(t)))}`.execute(db);
    },
    createKyselyDialect: (events: DialectEvents = {}) =>
      new MysqlDialect({
        pool: async () =>
          mysql2()
            .createPool({
              uri: url.toString(),
              connectionLimit: options.poolSize ?? 10,
              // Times are ISO strings and flags 0/1 in every database (see ../../ADR.md), so no
              // driver-side conversion is wanted.
              dateStrings: true,
              supportBigNumbers: true,
              charset: "utf8mb4",
              // A failed connection emits 'error' once and leaves the pool; a second one (a write after
              // the failure) would be unheard and end the process. Every connection is heard for life.
            })
            .on("connection", (c) => c.on("error", (error: Error) => events.onConnectionError?.(error))),
        onCreateConnection: async (connection) => {
          for (const statement of SESSION_SETUP) await connection.executeQuery(CompiledQuery.raw(statement));
        },
      }),
  };
}
