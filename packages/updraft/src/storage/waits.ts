/**
 * A try that stops without ending: a reschedule-mode sensor that is not done (up_for_reschedule, a
 * task_reschedule row) or a task that deferred (deferred, a trigger row). One fenced transaction each,
 * as a try's end (./task-instances.ts finishTry): the row moves only while this try still owns it.
 *
 * The same try goes on later: when the wait ends (./triggers.ts fires, or the scheduler finds the
 * reschedule date passed) the row goes back to scheduled with its try number one lower, so the start
 * that resumes it (which adds one, as every start does) runs the same try. next_method says how it
 * goes on (ADR S17).
 */
import { sql, type Transaction } from "kysely";
import { assertTransition } from "../core/states.ts";
import type { TriggerSpec } from "../sdk/triggers.ts";
import type { Database } from "./database.ts";
import type { Tables, TaskInstanceUpdate } from "./schema.ts";
import type { TryFence } from "./task-instances.ts";

export type Pause =
  { kind: "reschedule"; at: string } | { kind: "defer"; trigger: TriggerSpec; timeoutAt: string | null };

export interface PauseTimes {
  start_date: string;
  end_date: string;
  duration: number;
}

/** running -> up_for_reschedule | deferred; false when the try no longer owns its row. */
export async function pauseTry(
  database: Database,
  fence: TryFence,
  pause: Pause,
  times: PauseTimes,
  now: string,
): Promise<boolean> {
  const to = pause.kind === "reschedule" ? "up_for_reschedule" : "deferred";
  assertTransition("running", to, fence.key);
  const lost = Symbol("lost");
  try {
    await database.db.transaction().execute(async (trx) => {
      const triggerId =
        pause.kind === "defer" ? await insertTrigger(database, trx, pause.trigger, now) : null;
      let move = trx
        .updateTable("task_instance")
        .set({
          state: to,
          end_date: times.end_date,
          duration: times.duration,
          next_method: pause.kind === "reschedule" ? "__poke__" : "resume",
          next_kwargs: null,
          next_retry_at: pause.kind === "reschedule" ? pause.at : null,
          trigger_id: triggerId,
          trigger_timeout: pause.kind === "defer" ? pause.timeoutAt : null,
          updated_at: now,
        })
        .where("dag_id", "=", fence.key.dagId)
        .where("run_id", "=", fence.key.runId)
        .where("task_id", "=", fence.key.taskId)
        .where("map_index", "=", fence.key.mapIndex ?? -1)
        .where("try_number", "=", fence.tryNumber)
        .where("state", "=", "running");
      move =
        fence.owner === null
          ? move.where("claimed_by_job_id", "is", null)
          : move.where("claimed_by_job_id", "=", fence.owner);
      const moved = Number((await move.executeTakeFirst()).numUpdatedRows);
      if (moved !== 1) throw lost;
      if (pause.kind === "reschedule")
        await trx
          .insertInto("task_reschedule")
          .values({
            dag_id: fence.key.dagId,
            run_id: fence.key.runId,
            task_id: fence.key.taskId,
            map_index: fence.key.mapIndex ?? -1,
            try_number: fence.tryNumber,
            ...times,
            reschedule_date: pause.at,
          })
          .execute();
    });
    return true;
  } catch (error) {
    if (error !== lost) throw error;
    // A pause that committed before its connection was lost is recognised by its end date.
    const row = await database.db
      .selectFrom("task_instance")
      .select(["state", "end_date", "try_number"])
      .where("dag_id", "=", fence.key.dagId)
      .where("run_id", "=", fence.key.runId)
      .where("task_id", "=", fence.key.taskId)
      .where("map_index", "=", fence.key.mapIndex ?? -1)
      .executeTakeFirst();
    return row?.state === to && row.try_number === fence.tryNumber && row.end_date === times.end_date;
  }
}

async function insertTrigger(
  database: Database,
  trx: Transaction<Tables>,
  trigger: TriggerSpec,
  now: string,
): Promise<number> {
  const values = {
    classpath: trigger.classpath,
    kwargs: JSON.stringify(trigger.kwargs),
    created_date: now,
    triggerer_id: null,
    lease_until: null,
  };
  if (database.adapter.capabilities.supportsReturning)
    return (await trx.insertInto("trigger").values(values).returning("id").executeTakeFirstOrThrow()).id;
  return Number((await trx.insertInto("trigger").values(values).executeTakeFirstOrThrow()).insertId);
}

/** A sensor's reschedules in this try: when the first check ran (its timeout counts from there), and how many. */
export async function pokesOf(
  database: Database,
  fence: TryFence,
): Promise<{ first: string | undefined; count: number }> {
  const row = await database.db
    .selectFrom("task_reschedule")
    .select((eb) => [eb.fn.min("start_date").as("first"), eb.fn.countAll().as("count")])
    .where("dag_id", "=", fence.key.dagId)
    .where("run_id", "=", fence.key.runId)
    .where("task_id", "=", fence.key.taskId)
    .where("map_index", "=", fence.key.mapIndex ?? -1)
    .where("try_number", "=", fence.tryNumber)
    .executeTakeFirst();
  return { first: (row?.first as string | null | undefined) ?? undefined, count: Number(row?.count ?? 0) };
}

/**
 * The patch that sends a waiting task instance back to scheduled to go on with the same try: its try
 * number one lower, since the start that resumes it adds one (as every start does).
 */
export function resumeSameTry(now: string): TaskInstanceUpdate {
  return { scheduled_dttm: now, try_number: sql<number>`try_number - 1` as unknown as number };
}

/** The waiting states the scheduler moves on when their time comes (next_retry_at). */
export const TIMED_WAITS = ["up_for_retry", "up_for_reschedule"] as const;
