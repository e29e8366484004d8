/**
 * Owner locks on PostgreSQL: a session-level advisory lock (namespace, owner id) on a connection of
 * its own. The namespace is a hash of database and schema, so installations (and test schemas) that
 * share a server never read each other's locks.
 */
import { sql, type Kysely } from "kysely";
import pg from "pg";
import type { OwnerLocks } from "../../dialect.ts";
import { holdWithReconnect } from "../../held-lock.ts";

export function postgresOwnerLocks(url: string, schema: string | undefined): OwnerLocks {
  const namespace = postgresLockNamespace(url, schema);
  return {
    hold: (owner, log) =>
      holdWithReconnect(
        async (lost) => {
          const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
          client.on("error", lost);
          client.on("end", () => lost(new Error("connection ended")));
          await client.connect();
          const taken = await client.query<{ ok: boolean }>("select pg_try_advisory_lock($1, $2) as ok", [
            namespace,
            owner,
          ]);
          if (!taken.rows[0]?.ok) {
            await client.end().catch(() => undefined);
            throw new Error(`the lock of owner ${owner} is held by another session`);
          }
          return {
            ping: () => client.query("select 1").then(() => undefined),
            close: async () => {
              client.removeAllListeners("end");
              client.on("error", () => undefined);
              // Unlocked before the session ends, so a reader right after release() sees it free.
              await client
                .query("select pg_advisory_unlock($1, $2)", [namespace, owner])
                .catch(() => undefined);
              await client.end();
            },
          };
        },
        `the liveness lock of scheduler job ${owner}`,
        log,
      ),
    async free(db: Kysely<never>, owners) {
      if (owners.length === 0) return [];
      const held = await sql<{ owner: string }>`
        select objid::text as owner from pg_locks
        where locktype = 'advisory' and granted and objsubid = 2 and classid = ${namespace}::int::oid
          and database = (select oid from pg_database where datname = current_database())`.execute(db);
      const alive = new Set(held.rows.map((r) => Number(r.owner)));
      return owners.filter((o) => !alive.has(o));
    },
  };
}

/** The first key of every owner lock of one installation (database and schema). */
export function postgresLockNamespace(url: string, schema: string | undefined): number {
  // The query string may choose the schema too (options=-c search_path=...).
  const { pathname, search } = new URL(url);
  return hash31(`${pathname}${search}/${schema ?? "public"}`);
}

/** FNV-1a, folded into 31 bits: advisory lock keys are int4 and pg_locks shows them as oid. */
function hash31(text: string): number {
  let h = 0x811c9dc5;
  for (const ch of Buffer.from(text)) h = Math.imul(h ^ ch, 0x01000193);
  return (h >>> 0) & 0x7fffffff;
}
