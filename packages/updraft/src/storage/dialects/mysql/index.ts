/** MySQL 8 and MariaDB 10.6+ through `mysql2`. Both have SKIP LOCKED. */
import { MysqlDialect } from "kysely";
import { createPool } from "mysql2";
import type { DialectAdapter, DialectEvents } from "../../dialect.ts";

export interface MysqlOptions {
  url: string;
  poolSize?: number;
}

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
    },
    columnTypes: { longText: "longtext" },
    createKyselyDialect: (events: DialectEvents = {}) =>
      new MysqlDialect({
        pool: async () =>
          createPool({
            uri: url.toString(),
            connectionLimit: options.poolSize ?? 10,
            // Times are ISO strings and flags 0/1 in every database (see ../../ADR.md), so no
            // driver-side conversion is wanted.
            dateStrings: true,
            supportBigNumbers: true,
            charset: "utf8mb4",
            // A failed connection emits 'error' once and leaves the pool; a second one (a write after
            // the failure) would be unheard and end the process. Every connection is heard for life.
          }).on("connection", (c) => c.on("error", (error: Error) => events.onConnectionError?.(error))),
      }),
  };
}
