/**
 * Work left behind by a process that died: a scheduler that stopped heartbeating loses its claims
 * (queued task instances go back to scheduled for anyone to take), and a running task instance whose
 * heartbeat stopped is a zombie: its try failed, and it is retried if it has retries left.
 */
import type { Logger } from "../logging.ts";
import type { Database } from "../storage/database.ts";
import { jobStore } from "../storage/jobs.ts";
import { fromDb, taskInstanceStore } from "../storage/task-instances.ts";

export async function rescueOrphans(
  database: Database,
  o: { now: string; heartbeatTimeout: number; log: Logger },
): Promise<number> {
  const staleBefore = new Date(Date.parse(o.now) - o.heartbeatTimeout * 1000).toISOString();
  const jobs = jobStore(database);
  const dead = await jobs.stale("scheduler", staleBefore);
  if (dead.length > 0) {
    await jobs.markFailed(dead, o.now);
    o.log.warn({ jobs: dead }, "schedulers stopped heartbeating; taking over their queued task instances");
  }
  const tis = taskInstanceStore(database);
  let rescued = 0;
  const queued = dead.length
    ? await database.db
        .selectFrom("task_instance")
        .selectAll()
        .where("state", "=", "queued")
        .where("claimed_by_job_id", "in", dead)
        .execute()
    : [];
  for (const ti of queued) {
    const key = { dagId: ti.dag_id, runId: ti.run_id, taskId: ti.task_id, mapIndex: ti.map_index };
    if (
      await tis.transition(key, "queued", "scheduled", { claimed_by_job_id: null, queued_dttm: null }, o.now)
    )
      rescued++;
  }
  const zombies = await database.db
    .selectFrom("task_instance")
    .selectAll()
    .where("state", "in", ["running", "restarting"])
    .where("last_heartbeat_at", "<", staleBefore)
    .execute();
  for (const ti of zombies) {
    const key = { dagId: ti.dag_id, runId: ti.run_id, taskId: ti.task_id, mapIndex: ti.map_index };
    // A cleared task whose process is gone simply runs again.
    const next =
      ti.state === "restarting" ? "none" : ti.try_number <= ti.max_tries ? "up_for_retry" : "failed";
    if (
      await tis.transition(
        key,
        fromDb(ti.state),
        next,
        { end_date: o.now, next_retry_at: next === "up_for_retry" ? o.now : null },
        o.now,
      )
    ) {
      await tis.archiveTry({ ...ti, state: next, end_date: o.now });
      o.log.warn(
        { dagId: ti.dag_id, runId: ti.run_id, taskId: ti.task_id, tryNumber: ti.try_number, state: next },
        "task instance stopped heartbeating (its process is gone)",
      );
      rescued++;
    }
  }
  return rescued;
}
