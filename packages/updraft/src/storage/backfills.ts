/**
 * Backfill rows (migration 0016): made by operations/backfill.ts with their runs, paused, unpaused and
 * cancelled through the API, completed by the scheduler once none of their runs is left to do. A DAG
 * has at most one backfill that is not completed (checked when one is made, as Airflow does).
 */
import { sql, type Kysely, type Transaction } from "kysely";
import { FINISHED_RUN_STATES } from "../core/states.ts";
import { nowIso, type Database } from "./database.ts";
import type { BackfillRow, Tables } from "./schema.ts";

export interface NewBackfill {
  dagId: string;
  from: Date;
  to: Date;
  conf: Record<string, unknown>;
  reprocess: "none" | "failed" | "completed";
  maxActiveRuns: number;
  runBackwards: boolean;
  user: string | null;
}

export type BackfillOrder = "id" | "-id";

/** Inserts a backfill's row with `trx` (its runs go in the same transaction); its id. */
export async function insertBackfill(
  database: Database,
  trx: Kysely<Tables> | Transaction<Tables>,
  b: NewBackfill,
  now: string,
): Promise<number> {
  const row = {
    dag_id: b.dagId,
    from_date: b.from.toISOString(),
    to_date: b.to.toISOString(),
    dag_run_conf: JSON.stringify(b.conf),
    is_paused: 0,
    reprocess_behavior: b.reprocess,
    max_active_runs: b.maxActiveRuns,
    run_backwards: b.runBackwards ? 1 : 0,
    triggering_user_name: b.user,
    created_at: now,
    completed_at: null,
    updated_at: now,
  };
  const insert = trx.insertInto("backfill").values(row);
  if (database.adapter.capabilities.supportsReturning)
    return (await insert.returning("id").executeTakeFirstOrThrow()).id;
  return Number((await insert.executeTakeFirstOrThrow()).insertId);
}

export function backfillStore(database: Database) {
  const { db } = database;
  return {
    async get(id: number): Promise<BackfillRow | undefined> {
      return db.selectFrom("backfill").selectAll().where("id", "=", id).executeTakeFirst();
    },

    /** The DAG's backfill that is not completed, if any. */
    async active(dagId: string): Promise<BackfillRow | undefined> {
      return db
        .selectFrom("backfill")
        .selectAll()
        .where("dag_id", "=", dagId)
        .where("completed_at", "is", null)
        .executeTakeFirst();
    },

    async list(dagId: string, page: { limit: number; offset: number; order: BackfillOrder }) {
      const base = db.selectFrom("backfill").where("dag_id", "=", dagId);
      const [rows, total] = await Promise.all([
        base
          .selectAll()
          .orderBy("id", page.order === "-id" ? "desc" : "asc")
          .limit(page.limit)
          .offset(page.offset)
          .execute(),
        base.select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow(),
      ]);
      return { rows, total: Number(total.n) };
    },

    /** Pauses or unpauses a backfill that is not completed; false when it is (or does not exist). */
    async setPaused(id: number, paused: boolean, now = nowIso()): Promise<boolean> {
      const r = await db
        .updateTable("backfill")
        .set({ is_paused: paused ? 1 : 0, updated_at: now })
        .where("id", "=", id)
        .where("completed_at", "is", null)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },

    /**
     * Cancels a backfill that is not completed (Airflow's cancel): its queued runs fail, the running
     * ones go on, and it is completed now. False when it was already completed.
     */
    async cancel(id: number, now = nowIso()): Promise<boolean> {
      return db.transaction().execute(async (trx) => {
        const r = await trx
          .updateTable("backfill")
          .set({ is_paused: 1, completed_at: now, updated_at: now })
          .where("id", "=", id)
          .where("completed_at", "is", null)
          .executeTakeFirst();
        if (Number(r.numUpdatedRows) === 0) return false;
        await trx
          .updateTable("dag_run")
          .set({ state: "failed", end_date: now, updated_at: now })
          .where("backfill_id", "=", id)
          .where("state", "=", "queued")
          .execute();
        return true;
      });
    },

    /** Completes the backfills none of whose runs is left to do (the scheduler, each pass); their ids. */
    async completeFinished(now = nowIso()): Promise<number[]> {
      const done = await db
        .selectFrom("backfill as b")
        .select("b.id")
        .where("b.completed_at", "is", null)
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom("dag_run as r")
                .select(sql`1`.as("one"))
                .whereRef("r.backfill_id", "=", "b.id")
                .where("r.state", "not in", FINISHED_RUN_STATES),
            ),
          ),
        )
        .execute();
      if (done.length === 0) return [];
      const ids = done.map((d) => d.id);
      await db
        .updateTable("backfill")
        .set({ completed_at: now, updated_at: now })
        .where("id", "in", ids)
        .where("completed_at", "is", null)
        .execute();
      return ids;
    },
  };
}
export type BackfillStore = ReturnType<typeof backfillStore>;
