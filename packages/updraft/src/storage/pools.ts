/** Pools: named slot budgets that cap how many task instances of a kind run at once. */
import { sql } from "kysely";
import { InvalidInputError, NotFoundError } from "../core/errors.ts";
import type { Database } from "./database.ts";
import { upsert } from "./upsert.ts";

export const DEFAULT_POOL = "default_pool";

/** The reporting buckets; a restarting try (cleared, its process being stopped) is still running. */
const USAGE_STATES = ["running", "restarting", "queued", "scheduled", "deferred"];
export type PoolUsage = Record<"running" | "queued" | "scheduled" | "deferred", number>;

export interface Pool {
  name: string;
  slots: number;
  description: string | null;
  includeDeferred: boolean;
}

export function poolStore(database: Database) {
  const { db } = database;
  const decode = (row: {
    pool: string;
    slots: number;
    description: string | null;
    include_deferred: number;
  }): Pool => ({
    name: row.pool,
    slots: row.slots,
    description: row.description,
    includeDeferred: Boolean(row.include_deferred),
  });
  return {
    async get(name: string): Promise<Pool | undefined> {
      const row = await db.selectFrom("slot_pool").selectAll().where("pool", "=", name).executeTakeFirst();
      return row && decode(row);
    },
    async set(pool: {
      name: string;
      slots: number;
      description?: string | null;
      includeDeferred?: boolean;
    }): Promise<void> {
      if (!Number.isInteger(pool.slots) || pool.slots < -1) {
        throw new InvalidInputError(
          `pool "${pool.name}": slots must be a whole number >= 0 (or -1 for unlimited), got ${pool.slots}`,
        );
      }
      const row = {
        pool: pool.name,
        slots: pool.slots,
        description: pool.description ?? null,
        include_deferred: pool.includeDeferred ? 1 : 0,
      };
      await upsert(database, db, "slot_pool", row, ["pool"], ["slots", "description", "include_deferred"]);
    },
    async list(): Promise<Pool[]> {
      const rows = await db.selectFrom("slot_pool").selectAll().orderBy("pool").execute();
      return rows.map(decode);
    },
    /** Renames a pool. Task instances keep naming the old pool, as in Airflow. */
    async rename(from: string, to: string): Promise<void> {
      if (from === DEFAULT_POOL) throw new InvalidInputError(`${DEFAULT_POOL} cannot be renamed`);
      const result = await db
        .updateTable("slot_pool")
        .set({ pool: to })
        .where("pool", "=", from)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 0) throw new NotFoundError(`pool "${from}" does not exist`);
    },
    /** Slots taken in each pool by task instances that are running, queued, scheduled or deferred. */
    async usage(names: string[]): Promise<Map<string, PoolUsage>> {
      const usage = new Map<string, PoolUsage>(
        names.map((n) => [n, { running: 0, queued: 0, scheduled: 0, deferred: 0 }]),
      );
      if (names.length === 0) return usage;
      const rows = await db
        .selectFrom("task_instance")
        .select(["pool", "state", sql<number | string>`sum(pool_slots)`.as("slots")])
        .where("pool", "in", names)
        .where("state", "in", USAGE_STATES)
        .groupBy(["pool", "state"])
        .execute();
      for (const row of rows) {
        const entry = usage.get(row.pool);
        const bucket = (row.state === "restarting" ? "running" : row.state) as keyof PoolUsage;
        if (entry) entry[bucket] += Number(row.slots);
      }
      return usage;
    },
    async delete(name: string): Promise<void> {
      if (name === DEFAULT_POOL)
        throw new InvalidInputError(`${DEFAULT_POOL} cannot be deleted: set its slots instead`);
      const result = await db.deleteFrom("slot_pool").where("pool", "=", name).executeTakeFirst();
      if (Number(result.numDeletedRows) === 0) throw new NotFoundError(`pool "${name}" does not exist`);
    },
  };
}
export type PoolStore = ReturnType<typeof poolStore>;
