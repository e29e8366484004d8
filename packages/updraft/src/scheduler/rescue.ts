/**
 * Work left behind by a scheduler that died. Its tries died with it (their process trees die with
 * their owner, see ../runner/ADR.md), so what it held goes back to be run again:
 *
 * - queued task instances (claimed, not started) go back to scheduled;
 * - running ones go straight back to scheduled, first in line (their scheduled time is kept), with one
 *   more try allowed: the try was interrupted by the infrastructure, not failed by its task, so it
 *   uses up no retry (the interrupted try is archived as failed);
 * - restarting ones (cleared while running) go back to no state, to run again.
 *
 * Every move is fenced by the dead owner (and the try number), so a task instance that was taken over
 * meanwhile is never touched twice. A dead owner is found at once by its liveness lock (liveness.ts);
 * one that stopped heartbeating while still connected (hung) only after the heartbeat timeout.
 */
import type { Logger } from "../logging.ts";
import type { Database } from "../storage/database.ts";
import { jobStore } from "../storage/jobs.ts";
import type { TaskInstanceRow } from "../storage/schema.ts";
import { fromDb, taskInstanceStore, type TaskInstanceKey } from "../storage/task-instances.ts";

const keyOf = (ti: TaskInstanceRow): TaskInstanceKey => ({
  dagId: ti.dag_id,
  runId: ti.run_id,
  taskId: ti.task_id,
  mapIndex: ti.map_index,
});

/** Hands back everything `owner` (a dead scheduler job) held; returns how many task instances moved. */
export async function rescueOwner(
  database: Database,
  owner: number,
  o: { now: string; log: Logger },
): Promise<number> {
  const held = await database.db
    .selectFrom("task_instance")
    .selectAll()
    .where("claimed_by_job_id", "=", owner)
    .where("state", "in", ["queued", "running", "restarting"])
    .execute();
  let moved = 0;
  for (const ti of held) if (await handBack(database, ti, owner, o.now)) moved++;
  if (held.length > 0)
    o.log.warn(
      { owner, taskInstances: held.length, moved },
      "took over the task instances of a scheduler that died: they run again",
    );
  return moved;
}

async function handBack(database: Database, ti: TaskInstanceRow, owner: number, now: string) {
  const tis = taskInstanceStore(database);
  const key = keyOf(ti);
  if (ti.state === "queued") return tis.releaseClaim(key, owner, now);
  const fence = { key, tryNumber: ti.try_number, owner };
  if (ti.state === "restarting")
    return tis.finishTry(fence, "restarting", "none", { end_date: now }, {}, now);
  return tis.finishTry(
    fence,
    "running",
    "scheduled",
    { end_date: now, max_tries: ti.max_tries + 1, claimed_by_job_id: null, queued_dttm: null },
    { archiveAs: "failed" },
    now,
  );
}

/**
 * The slow path, for what the liveness locks cannot see: schedulers that stopped heartbeating while
 * still connected (hung, or on SQLite on another host) are declared dead after `heartbeatTimeout`;
 * task instances still held by a job that is no longer running (a rescue interrupted by a crash) are
 * handed back; and a running task instance whose own heartbeat stopped, though its owner lives, is a
 * zombie: its try failed (and is retried if it may be).
 */
export async function rescueOrphans(
  database: Database,
  o: { now: string; heartbeatTimeout: number; log: Logger; self: number },
): Promise<number> {
  const staleBefore = new Date(Date.parse(o.now) - o.heartbeatTimeout * 1000).toISOString();
  const jobs = jobStore(database);
  for (const id of await jobs.stale("scheduler", staleBefore)) {
    if (id !== o.self && (await jobs.declareDead(id, o.now)))
      o.log.warn({ job: id }, "a scheduler stopped heartbeating: declared dead, taking over its work");
  }
  let rescued = 0;
  const abandoned = await database.db
    .selectFrom("task_instance")
    .innerJoin("job", "job.id", "task_instance.claimed_by_job_id")
    .select("job.id")
    .distinct()
    .where("task_instance.state", "in", ["queued", "running", "restarting"])
    .where("job.state", "!=", "running")
    .execute();
  for (const { id } of abandoned) rescued += await rescueOwner(database, id, o);
  rescued += await failZombies(database, staleBefore, o);
  return rescued;
}

async function failZombies(database: Database, staleBefore: string, o: { now: string; log: Logger }) {
  const tis = taskInstanceStore(database);
  const zombies = await database.db
    .selectFrom("task_instance")
    .selectAll()
    .where("state", "in", ["running", "restarting"])
    .where("last_heartbeat_at", "<", staleBefore)
    .execute();
  let failed = 0;
  for (const ti of zombies) {
    // A cleared task whose process is gone simply runs again.
    const next =
      ti.state === "restarting" ? "none" : ti.try_number <= ti.max_tries ? "up_for_retry" : "failed";
    const fence = { key: keyOf(ti), tryNumber: ti.try_number, owner: ti.claimed_by_job_id };
    const patch = { end_date: o.now, next_retry_at: next === "up_for_retry" ? o.now : null };
    if (await tis.finishTry(fence, fromDb(ti.state) as "running" | "restarting", next, patch, {}, o.now)) {
      o.log.warn(
        { dagId: ti.dag_id, runId: ti.run_id, taskId: ti.task_id, tryNumber: ti.try_number, state: next },
        "task instance stopped heartbeating (its process is gone)",
      );
      failed++;
    }
  }
  return failed;
}

/**
 * A try that a worker took and lost (the worker died, or its job failed in the queue): a running try
 * fails (retried by its retries, as a zombie is); a try that never started goes back to scheduled.
 * Fenced by the try number and "no scheduler owns it", so a try that already moved on is left alone.
 */
export async function failLostTry(
  database: Database,
  lost: TaskInstanceKey & { tryNumber: number },
  o: { now: string; log: Logger; reason: string },
): Promise<string | null> {
  const tis = taskInstanceStore(database);
  const key = { dagId: lost.dagId, runId: lost.runId, taskId: lost.taskId, mapIndex: lost.mapIndex ?? -1 };
  if (await tis.releaseQueued(key, lost.tryNumber, o.now)) {
    o.log.warn(
      { ...key, tryNumber: lost.tryNumber, reason: o.reason },
      "a queued try was lost: scheduled again",
    );
    return "scheduled";
  }
  const ti = await tis.get(key);
  if (!ti || ti.try_number !== lost.tryNumber || ti.claimed_by_job_id !== null) return null;
  if (ti.state !== "running" && ti.state !== "restarting") return null;
  const next = ti.state === "restarting" ? "none" : ti.try_number <= ti.max_tries ? "up_for_retry" : "failed";
  const fence = { key, tryNumber: ti.try_number, owner: null };
  const patch = { end_date: o.now, next_retry_at: next === "up_for_retry" ? o.now : null };
  if (!(await tis.finishTry(fence, fromDb(ti.state) as "running" | "restarting", next, patch, {}, o.now)))
    return null;
  o.log.warn({ ...key, tryNumber: ti.try_number, state: next, reason: o.reason }, "a worker's try was lost");
  return next;
}
