/**
 * Jobs: one row per running service (scheduler, standalone, ...). The heartbeat says it is alive;
 * a loop that fails records the error in the row and carries on, so `updraft jobs` and the UI can
 * tell a healthy service from a stuck one.
 */
import { hostname } from "node:os";
import type { Database } from "./database.ts";
import { nowIso } from "./database.ts";

export function jobStore(database: Database) {
  const { db } = database;
  return {
    async start(jobType: string, now = nowIso()): Promise<number> {
      const row = {
        job_type: jobType,
        state: "running",
        hostname: hostname(),
        pid: process.pid,
        start_date: now,
        end_date: null,
        latest_heartbeat: now,
        last_error: null,
      };
      const insert = db.insertInto("job").values(row);
      if (database.adapter.capabilities.supportsReturning)
        return (await insert.returning("id").executeTakeFirstOrThrow()).id;
      return Number((await insert.executeTakeFirstOrThrow()).insertId);
    },

    /** False when the job is no longer running: another process declared it dead. */
    async heartbeat(id: number, lastError: string | null = null, now = nowIso()): Promise<boolean> {
      const result = await db
        .updateTable("job")
        .set({ latest_heartbeat: now, last_error: lastError })
        .where("id", "=", id)
        .where("state", "=", "running")
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    /** Running jobs of a type other than `except`, with their start (the liveness check's candidates). */
    async running(jobType: string, except: number): Promise<{ id: number; start_date: string }[]> {
      return db
        .selectFrom("job")
        .select(["id", "start_date"])
        .where("job_type", "=", jobType)
        .where("state", "=", "running")
        .where("id", "!=", except)
        .execute();
    },

    /** Declares a running job dead; true for the one process whose statement did it. */
    async declareDead(id: number, now = nowIso()): Promise<boolean> {
      const result = await db
        .updateTable("job")
        .set({ state: "failed", end_date: now })
        .where("id", "=", id)
        .where("state", "=", "running")
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async end(id: number, state: "success" | "failed" = "success", now = nowIso()): Promise<void> {
      await db
        .updateTable("job")
        .set({ state, end_date: now, latest_heartbeat: now })
        .where("id", "=", id)
        .execute();
    },

    /** Jobs that stopped heartbeating before `staleBefore`: their claimed work needs rescuing. */
    async stale(jobType: string, staleBefore: string): Promise<number[]> {
      const rows = await db
        .selectFrom("job")
        .select("id")
        .where("job_type", "=", jobType)
        .where("state", "=", "running")
        .where("latest_heartbeat", "<", staleBefore)
        .execute();
      return rows.map((r) => r.id);
    },

    async markFailed(ids: number[], now = nowIso()): Promise<void> {
      if (ids.length === 0) return;
      await db.updateTable("job").set({ state: "failed", end_date: now }).where("id", "in", ids).execute();
    },

    async list(filter: { jobType?: string; state?: string } = {}) {
      let q = db.selectFrom("job").selectAll().orderBy("id", "desc").limit(100);
      if (filter.jobType) q = q.where("job_type", "=", filter.jobType);
      if (filter.state) q = q.where("state", "=", filter.state);
      return q.execute();
    },
  };
}
export type JobStore = ReturnType<typeof jobStore>;
