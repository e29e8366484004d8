/**
 * Leases: a named lock that expires unless renewed. On SQLite (one writer at a time) only the
 * scheduler holding the "scheduler" lease works; the others wait and take over when it lapses, so a
 * killed scheduler is replaced within one lease period.
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { Database } from "./database.ts";
import { processAlive } from "./dialects/sqlite/owner-locks.ts";

/** This process as a lease holder: host, pid (so a dead holder is seen at once) and a nonce. */
export const newLeaseHolder = (): string => `${hostname()}:${process.pid}:${randomUUID()}`;

/** A holder (`host:pid:nonce`) on this machine whose process is gone. */
function holderGone(holder: string): boolean {
  const [host, pid] = holder.split(":");
  return host === hostname() && Number(pid) > 0 && !processAlive(Number(pid));
}

export function leaseStore(database: Database) {
  const { db } = database;
  return {
    /** Takes or renews the lease; true when `holder` has it until `expiresAt`. */
    async acquire(name: string, holder: string, now: string, expiresAt: string): Promise<boolean> {
      const renewed = await db
        .updateTable("lease")
        .set({ holder, expires_at: expiresAt })
        .where("name", "=", name)
        .where((eb) => eb.or([eb("holder", "=", holder), eb("expires_at", "<", now)]))
        .executeTakeFirst();
      if (Number(renewed.numUpdatedRows) === 1) return true;
      try {
        await db.insertInto("lease").values({ name, holder, expires_at: expiresAt }).execute();
        return true;
      } catch {
        return false; // someone else holds it (the insert hit the primary key)
      }
    },

    /** Takes the lease from `from` (a holder known to be dead) whatever its expiry. */
    async takeFrom(name: string, from: string, holder: string, expiresAt: string): Promise<boolean> {
      const taken = await db
        .updateTable("lease")
        .set({ holder, expires_at: expiresAt })
        .where("name", "=", name)
        .where("holder", "=", from)
        .executeTakeFirst();
      return Number(taken.numUpdatedRows) === 1;
    },

    async release(name: string, holder: string): Promise<void> {
      await db.deleteFrom("lease").where("name", "=", name).where("holder", "=", holder).execute();
    },

    /** The holder of `name` if its process is gone (on this machine), whatever the lease's expiry. */
    async deadHolder(name: string, now: string): Promise<string | undefined> {
      const holder = await this.holderOf(name, now);
      return holder && holderGone(holder) ? holder : undefined;
    },

    async holderOf(name: string, now: string): Promise<string | undefined> {
      const row = await db
        .selectFrom("lease")
        .select("holder")
        .where("name", "=", name)
        .where("expires_at", ">=", now)
        .executeTakeFirst();
      return row?.holder;
    },
  };
}
export type LeaseStore = ReturnType<typeof leaseStore>;
