/**
 * The scheduler's hot path: move `scheduled` task instances to `queued` for this scheduler, highest
 * priority first, within parallelism, each pool's free slots and each DAG's maxActiveTasks.
 *
 * Caps are enforced in the same transaction that claims: the pool rows are locked first (FOR UPDATE),
 * so two schedulers claiming at once take turns and never over-fill a pool; candidate rows are read
 * with SKIP LOCKED where the database has it. SQLite runs one active scheduler at a time (a lease),
 * so there the transaction alone is enough.
 */
import { sql, type Transaction } from "kysely";
import type { Database } from "../database.ts";
import type { Tables } from "../schema.ts";

export interface ClaimOptions {
  jobId: number;
  /** Most task instances to claim in this call. */
  limit: number;
  /** Installation-wide cap on queued + running task instances (`core.parallelism`). */
  parallelism: number;
  now: string;
}

export interface ClaimedTaskInstance {
  dagId: string;
  runId: string;
  taskId: string;
  mapIndex: number;
  dagRunId: number;
  tryNumber: number;
  pool: string;
}

const ACTIVE = ["queued", "running"];

export async function claimTaskInstances(
  database: Database,
  options: ClaimOptions,
): Promise<ClaimedTaskInstance[]> {
  return database.db.transaction().execute(async (trx) => {
    const free = await freePoolSlots(trx, database.adapter.capabilities.supportsSkipLocked);
    const active = await activeCounts(trx);
    let budget = Math.min(options.limit, options.parallelism - active.total);
    if (budget <= 0) return [];
    const candidates = await readCandidates(trx, database, budget * 4);
    const maxActive = await maxActiveTasks(trx, [...new Set(candidates.map((c) => c.dag_id))]);
    const chosen: ClaimedTaskInstance[] = [];
    for (const c of candidates) {
      if (budget === 0) break;
      const poolFree = free.get(c.pool) ?? 0;
      const dagActive = active.byDag.get(c.dag_id) ?? 0;
      if (poolFree < c.pool_slots) continue;
      if (dagActive >= (maxActive.get(c.dag_id) ?? Infinity)) continue;
      if (!(await markQueued(trx, c, options))) continue;
      free.set(c.pool, poolFree - c.pool_slots);
      active.byDag.set(c.dag_id, dagActive + 1);
      budget--;
      chosen.push({
        dagId: c.dag_id,
        runId: c.run_id,
        taskId: c.task_id,
        mapIndex: c.map_index,
        dagRunId: c.dag_run_id,
        tryNumber: c.try_number,
        pool: c.pool,
      });
    }
    return chosen;
  });
}

/** Free slots per pool (Infinity for -1, unlimited). A pool that does not exist has none: its tasks wait. */
async function freePoolSlots(trx: Transaction<Tables>, lock: boolean): Promise<Map<string, number>> {
  let pools = trx.selectFrom("slot_pool").select(["pool", "slots"]).orderBy("pool");
  if (lock) pools = pools.forUpdate();
  const rows = await pools.execute();
  const used = await trx
    .selectFrom("task_instance")
    .select(["pool", sql<number>`sum(pool_slots)`.as("used")])
    .where("state", "in", ACTIVE)
    .groupBy("pool")
    .execute();
  const usedBy = new Map(used.map((u) => [u.pool, Number(u.used)]));
  const free = new Map<string, number>();
  for (const p of rows) free.set(p.pool, p.slots < 0 ? Infinity : p.slots - (usedBy.get(p.pool) ?? 0));
  return free;
}

async function activeCounts(trx: Transaction<Tables>) {
  const rows = await trx
    .selectFrom("task_instance")
    .select(["dag_id", sql<number>`count(*)`.as("n")])
    .where("state", "in", ACTIVE)
    .groupBy("dag_id")
    .execute();
  const byDag = new Map(rows.map((r) => [r.dag_id, Number(r.n)]));
  return { byDag, total: [...byDag.values()].reduce((a, b) => a + b, 0) };
}

async function readCandidates(trx: Transaction<Tables>, database: Database, limit: number) {
  let q = trx
    .selectFrom("task_instance")
    .select(["dag_id", "run_id", "task_id", "map_index", "dag_run_id", "try_number", "pool", "pool_slots"])
    .where("state", "=", "scheduled")
    .orderBy("priority_weight", "desc")
    .orderBy("scheduled_dttm")
    .orderBy("dag_run_id")
    .orderBy("task_id")
    .orderBy("map_index")
    .limit(limit);
  if (database.adapter.capabilities.supportsSkipLocked) q = q.forUpdate().skipLocked();
  return q.execute();
}

async function maxActiveTasks(trx: Transaction<Tables>, dagIds: string[]): Promise<Map<string, number>> {
  if (dagIds.length === 0) return new Map();
  const rows = await trx
    .selectFrom("dag")
    .select(["dag_id", "max_active_tasks"])
    .where("dag_id", "in", dagIds)
    .execute();
  return new Map(rows.map((r) => [r.dag_id, r.max_active_tasks]));
}

async function markQueued(
  trx: Transaction<Tables>,
  c: { dag_id: string; run_id: string; task_id: string; map_index: number },
  options: ClaimOptions,
): Promise<boolean> {
  const result = await trx
    .updateTable("task_instance")
    .set({
      state: "queued",
      queued_dttm: options.now,
      claimed_by_job_id: options.jobId,
      updated_at: options.now,
    })
    .where("dag_id", "=", c.dag_id)
    .where("run_id", "=", c.run_id)
    .where("task_id", "=", c.task_id)
    .where("map_index", "=", c.map_index)
    .where("state", "=", "scheduled")
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}
