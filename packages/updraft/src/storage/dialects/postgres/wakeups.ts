/**
 * Wake-ups on PostgreSQL: LISTEN on a connection of its own (taken again after it is lost), NOTIFY
 * from the write that made work. The channel is named after the installation (database and schema),
 * like the owner locks, so installations sharing a server do not wake each other.
 */
import { sql } from "kysely";
import pg from "pg";
import type { Wakeups } from "../../dialect.ts";
import { holdWithReconnect } from "../../held-lock.ts";
import { postgresLockNamespace } from "./owner-locks.ts";

export function postgresWakeups(url: string, schema: string | undefined): Wakeups {
  const channel = `updraft_wakeup_${postgresLockNamespace(url, schema)}`;
  return {
    async notify(db) {
      await sql`select pg_notify(${channel}, '')`.execute(db);
    },
    async watch(_db, onWake, log) {
      const held = await holdWithReconnect(
        async (lost) => {
          const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
          client.on("error", lost);
          client.on("end", () => lost(new Error("connection ended")));
          client.on("notification", () => onWake());
          await client.connect();
          await client.query(`listen ${channel}`);
          // A notification sent while this connection was being made is lost: look once now.
          onWake();
          return {
            ping: () => client.query("select 1").then(() => undefined),
            close: async () => {
              client.removeAllListeners("end");
              client.on("error", () => undefined);
              await client.end();
            },
          };
        },
        "the scheduler's wake-up listener",
        log,
      );
      return () => held.release();
    },
  };
}
