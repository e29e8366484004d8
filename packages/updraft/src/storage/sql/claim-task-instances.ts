/**
 * The scheduler's hot path: move `scheduled` task instances to `queued` for this scheduler, highest
 * priority first, within parallelism, each pool's free slots and each DAG's maxActiveTasks.
 *
 * Caps are enforced in the same transaction that claims: every pool row is locked first (FOR UPDATE,
 * in one order; default_pool always exists), so claims take turns and each counts what is
 * occupied after the previous one committed; candidate rows are read with SKIP LOCKED. What occupies
 * a slot is defined once, in ./occupancy.ts. SQLite runs one active scheduler at a time (a lease), so
 * there the transaction alone is enough. A deadlock or a lost connection runs the claim again.
 */
import { sql, type Transaction } from "kysely";
import type { Database } from "../database.ts";
import { retrying } from "../retry.ts";
import type { Tables } from "../schema.ts";
import { MAY_OCCUPY_STATES, OCCUPYING_STATES, poolOccupyingStates } from "./occupancy.ts";

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
  /** The task's queue: which workers take it (the BullMQ executor; the local one runs every queue). */
  queue?: string;
  /** When it was claimed (queued_dttm): with the try number, names the claim (the job's id). */
  queuedAt?: string;
}

export async function claimTaskInstances(
  database: Database,
  options: ClaimOptions,
): Promise<ClaimedTaskInstance[]> {
  return retrying(() => database.db.transaction().execute((trx) => claimWithinCaps(trx, database, options)), {
    what: "claiming task instances",
    maxMs: 30_000,
  });
}

/** The claim inside a transaction of the caller's (the last run examination of an iteration). */
export async function claimWithinCaps(
  trx: Transaction<Tables>,
  database: Database,
  options: ClaimOptions,
): Promise<ClaimedTaskInstance[]> {
  const pools = await lockPools(trx, database.adapter.capabilities.supportsSkipLocked);
  const occupied = await occupiedNow(trx);
  const free = freePoolSlots(pools, occupied);
  const active = activeCounts(occupied);
  let budget = Math.min(options.limit, options.parallelism - active.total);
  if (budget <= 0) return [];
  const candidates = await readCandidates(trx, database, budget * 4);
  const chosen: ClaimedTaskInstance[] = [];
  for (const c of candidates) {
    if (budget === 0) break;
    const poolFree = free.get(c.pool) ?? 0;
    const dagActive = active.byDag.get(c.dag_id) ?? 0;
    if (poolFree < c.pool_slots) continue;
    if (dagActive >= (c.max_active_tasks ?? Infinity)) continue;
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
      queue: c.queue,
      queuedAt: options.now,
    });
  }
  return markQueued(trx, database, chosen, options);
}

/** The claim's mutex and the pools' sizes: every pool row, locked in one order (by its unique name). */
async function lockPools(trx: Transaction<Tables>, lock: boolean) {
  let pools = trx.selectFrom("slot_pool").select(["pool", "slots", "include_deferred"]).orderBy("pool");
  if (lock) pools = pools.forUpdate();
  return pools.execute();
}

interface Occupied {
  dag_id: string;
  pool: string;
  state: string;
  n: number;
  slots: number;
}

/** One read, after the lock, of everything that may occupy a slot, by DAG, pool and state. */
async function occupiedNow(trx: Transaction<Tables>): Promise<Occupied[]> {
  const rows = await trx
    .selectFrom("task_instance")
    .select([
      "dag_id",
      "pool",
      "state",
      sql<number | string>`count(*)`.as("n"),
      sql<number | string>`sum(pool_slots)`.as("slots"),
    ])
    .where("state", "in", [...MAY_OCCUPY_STATES])
    .groupBy(["dag_id", "pool", "state"])
    .execute();
  return rows.map((r) => ({ ...r, state: r.state ?? "none", n: Number(r.n), slots: Number(r.slots) }));
}

/** Free slots per pool (Infinity for -1, unlimited). A pool that does not exist has none: its tasks wait. */
function freePoolSlots(
  pools: { pool: string; slots: number; include_deferred: number }[],
  occupied: Occupied[],
): Map<string, number> {
  const free = new Map<string, number>();
  for (const p of pools) {
    const counted = poolOccupyingStates(p.include_deferred === 1);
    const used = occupied
      .filter((o) => o.pool === p.pool && counted.includes(o.state as never))
      .reduce((sum, o) => sum + o.slots, 0);
    free.set(p.pool, p.slots < 0 ? Infinity : p.slots - used);
  }
  return free;
}

/** Occupied slots of parallelism (total) and of each DAG's maxActiveTasks. */
function activeCounts(occupied: Occupied[]) {
  const byDag = new Map<string, number>();
  let total = 0;
  for (const o of occupied) {
    if (!(OCCUPYING_STATES as readonly string[]).includes(o.state)) continue;
    byDag.set(o.dag_id, (byDag.get(o.dag_id) ?? 0) + o.n);
    total += o.n;
  }
  return { byDag, total };
}

async function readCandidates(trx: Transaction<Tables>, database: Database, limit: number) {
  let q = trx
    .selectFrom("task_instance")
    .select([
      "dag_id",
      "run_id",
      "task_id",
      "map_index",
      "dag_run_id",
      "try_number",
      "pool",
      "pool_slots",
      "queue",
      // In the same read (a subquery locks nothing): the DAG's cap on its running task instances.
      (eb) =>
        eb
          .selectFrom("dag")
          .select("dag.max_active_tasks")
          .whereRef("dag.dag_id", "=", "task_instance.dag_id")
          .as("max_active_tasks"),
    ])
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

/**
 * The chosen rows, queued for this scheduler in one statement per 500. They were read locked (SKIP
 * LOCKED) or under the only writer (SQLite), so each is still scheduled; should one not be, the rows
 * that did move are read back and only they are claimed.
 */
async function markQueued(
  trx: Transaction<Tables>,
  database: Database,
  chosen: ClaimedTaskInstance[],
  options: ClaimOptions,
): Promise<ClaimedTaskInstance[]> {
  let moved = 0;
  const keysOf = (batch: ClaimedTaskInstance[]) =>
    database.adapter.keysIn(
      ["dag_id", "run_id", "task_id", "map_index"],
      batch.map((c) => [c.dagId, c.runId, c.taskId, c.mapIndex]),
      [false, false, false, true],
    );
  for (let i = 0; i < chosen.length; i += 500) {
    const result = await trx
      .updateTable("task_instance")
      .set({
        state: "queued",
        queued_dttm: options.now,
        claimed_by_job_id: options.jobId,
        updated_at: options.now,
      })
      .where(keysOf(chosen.slice(i, i + 500)))
      .where("state", "=", "scheduled")
      .executeTakeFirst();
    moved += Number(result.numUpdatedRows);
  }
  if (moved === chosen.length) return chosen;
  const ours = new Set<string>();
  for (let i = 0; i < chosen.length; i += 500) {
    const rows = await trx
      .selectFrom("task_instance")
      .select(["dag_id", "run_id", "task_id", "map_index"])
      .where(keysOf(chosen.slice(i, i + 500)))
      .where("state", "=", "queued")
      .where("claimed_by_job_id", "=", options.jobId)
      .where("queued_dttm", "=", options.now)
      .execute();
    for (const r of rows) ours.add(`${r.dag_id}\u0000${r.run_id}\u0000${r.task_id}\u0000${r.map_index}`);
  }
  return chosen.filter((c) => ours.has(`${c.dagId}\u0000${c.runId}\u0000${c.taskId}\u0000${c.mapIndex}`));
}
