/**
 * Owner locks on SQLite: every process shares one machine with the database file, so a scheduler's
 * liveness is its process: a job whose pid is gone on this host has no owner left. Holding costs
 * nothing; a job on another host (a shared file system) is left to the heartbeat timeout.
 */
import { hostname } from "node:os";
import type { Kysely } from "kysely";
import type { OwnerLocks } from "../../dialect.ts";
import type { Tables } from "../../schema.ts";

export function sqliteOwnerLocks(): OwnerLocks {
  return {
    // Nothing to hold, and no restart of a server that drops every lock at once: no grace needed.
    async hold() {
      return { heldSince: () => 0, release: async () => undefined };
    },
    async free(db: Kysely<never>, owners) {
      if (owners.length === 0) return [];
      const rows = await (db as unknown as Kysely<Tables>)
        .selectFrom("job")
        .select(["id", "hostname", "pid"])
        .where("id", "in", [...owners])
        .execute();
      const here = hostname();
      const alive = new Set(
        rows.filter((r) => r.hostname !== here || r.pid === null || processAlive(r.pid)).map((r) => r.id),
      );
      return owners.filter((o) => !alive.has(o)); // a job without a row has no owner either
    },
  };
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
