/** Pools: named slot budgets that cap how many task instances of a kind run at once. */
import { InvalidInputError, NotFoundError } from "../core/errors.ts";
import type { Database } from "./database.ts";
import { upsert } from "./upsert.ts";

export const DEFAULT_POOL = "default_pool";

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
    async delete(name: string): Promise<void> {
      if (name === DEFAULT_POOL)
        throw new InvalidInputError(`${DEFAULT_POOL} cannot be deleted: set its slots instead`);
      const result = await db.deleteFrom("slot_pool").where("pool", "=", name).executeTakeFirst();
      if (Number(result.numDeletedRows) === 0) throw new NotFoundError(`pool "${name}" does not exist`);
    },
  };
}
export type PoolStore = ReturnType<typeof poolStore>;
