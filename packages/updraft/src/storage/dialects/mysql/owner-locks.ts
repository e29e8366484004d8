/**
 * Owner locks on MySQL/MariaDB: `GET_LOCK(name)` on a connection of its own; the server releases it
 * when the connection ends. The name carries the database's name, so installations sharing a server
 * never read each other's locks.
 */
import { sql, type Kysely } from "kysely";
import { createRequire } from "node:module";
import type * as Mysql2 from "mysql2/promise";
import type { OwnerLocks } from "../../dialect.ts";
import { holdWithReconnect } from "../../held-lock.ts";

// Loaded when first used (see index.ts).
const require = createRequire(import.meta.url);

/** The name of `owner`'s lock in the database of `url` (names are at most 64 characters). */
export function mysqlLockName(url: string, owner: number): string {
  const database = decodeURIComponent(new URL(url).pathname.slice(1));
  return `updraft:${database.slice(0, 40)}:owner:${owner}`;
}

export function mysqlOwnerLocks(url: string): OwnerLocks {
  const nameOf = (owner: number) => mysqlLockName(url, owner);
  return {
    hold: (owner, log) =>
      holdWithReconnect(
        async (lost) => {
          const conn = await (require("mysql2/promise") as typeof Mysql2).createConnection({
            uri: url,
            connectTimeout: 5_000,
          });
          conn.on("error", lost);
          conn.on("end", () => lost(new Error("connection ended")));
          const [rows] = await conn.query("select GET_LOCK(?, 0) as ok", [nameOf(owner)]);
          if (Number((rows as { ok: number | null }[])[0]?.ok) !== 1) {
            await conn.end().catch(() => undefined);
            throw new Error(`the lock of owner ${owner} is held by another session`);
          }
          return {
            ping: () => conn.query("select 1").then(() => undefined),
            close: async () => {
              conn.removeAllListeners("end");
              conn.removeAllListeners("error");
              conn.on("error", () => undefined);
              // Released before the connection ends: the server drops it at disconnect too, but only
              // after end() has resolved, and a reader right after release() must see it free.
              await conn.query("select RELEASE_LOCK(?)", [nameOf(owner)]).catch(() => undefined);
              await conn.end();
            },
          };
        },
        `the liveness lock of scheduler job ${owner}`,
        log,
      ),
    async free(db: Kysely<never>, owners) {
      if (owners.length === 0) return [];
      const columns = owners.map((o, i) => sql`IS_USED_LOCK(${nameOf(o)}) as ${sql.ref(`o${i}`)}`);
      const result = await sql<Record<string, unknown>>`select ${sql.join(columns)}`.execute(db);
      const row = result.rows[0] ?? {};
      return owners.filter((_, i) => row[`o${i}`] === null || row[`o${i}`] === undefined);
    },
  };
}
