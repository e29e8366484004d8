/**
 * Task instances: every state change goes through `transition`, which asks the state machine
 * (core/states.ts) whether it is legal and writes it only if the row is still in the state the caller
 * saw, so two processes cannot both move the same task instance.
 */
import { assertTransition, type MovedBy, type TaskInstanceState } from "../core/states.ts";
import type { Database } from "./database.ts";
import { nowIso } from "./database.ts";
import type { TaskInstanceRow, TaskInstanceUpdate } from "./schema.ts";

export interface TaskInstanceKey {
  dagId: string;
  runId: string;
  taskId: string;
  mapIndex?: number;
}

/** The database keeps "no state yet" as NULL. */
const toDb = (state: TaskInstanceState): string | null => (state === "none" ? null : state);
export const fromDb = (state: string | null): TaskInstanceState => (state ?? "none") as TaskInstanceState;

export function taskInstanceStore(database: Database) {
  const { db } = database;
  const byKey = (key: TaskInstanceKey) =>
    db
      .selectFrom("task_instance")
      .selectAll()
      .where("dag_id", "=", key.dagId)
      .where("run_id", "=", key.runId)
      .where("task_id", "=", key.taskId)
      .where("map_index", "=", key.mapIndex ?? -1);

  return {
    async get(key: TaskInstanceKey): Promise<TaskInstanceRow | undefined> {
      return byKey(key).executeTakeFirst();
    },

    async listByRun(dagRunId: number): Promise<TaskInstanceRow[]> {
      return db
        .selectFrom("task_instance")
        .selectAll()
        .where("dag_run_id", "=", dagRunId)
        .orderBy("task_id")
        .execute();
    },

    /**
     * Moves a task instance from `from` to `to` (with extra column changes) if it is still in `from`.
     * Returns false when another process changed it first; throws on an illegal transition.
     */
    async transition(
      key: TaskInstanceKey,
      from: TaskInstanceState,
      to: TaskInstanceState,
      patch: TaskInstanceUpdate = {},
      now = nowIso(),
      by: MovedBy = "system",
    ): Promise<boolean> {
      assertTransition(from, to, key, by);
      let q = db
        .updateTable("task_instance")
        .set({ ...patch, state: toDb(to), updated_at: now })
        .where("dag_id", "=", key.dagId)
        .where("run_id", "=", key.runId)
        .where("task_id", "=", key.taskId)
        .where("map_index", "=", key.mapIndex ?? -1);
      q = from === "none" ? q.where("state", "is", null) : q.where("state", "=", from);
      const result = await q.executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    /**
     * queued -> running for the next try, returning the row as it now is (one statement where the
     * database has RETURNING). Undefined when the row was no longer queued (cleared, taken over).
     */
    async startTry(key: TaskInstanceKey, patch: TaskInstanceUpdate, now = nowIso()) {
      assertTransition("queued", "running", key);
      const q = db
        .updateTable("task_instance")
        .set((eb) => ({ ...patch, state: "running", updated_at: now, try_number: eb("try_number", "+", 1) }))
        .where("dag_id", "=", key.dagId)
        .where("run_id", "=", key.runId)
        .where("task_id", "=", key.taskId)
        .where("map_index", "=", key.mapIndex ?? -1)
        .where("state", "=", "queued");
      if (database.adapter.capabilities.supportsReturning)
        return (await q.returningAll().executeTakeFirst()) as TaskInstanceRow | undefined;
      const moved = await q.executeTakeFirst();
      return Number(moved.numUpdatedRows) === 1 ? byKey(key).executeTakeFirst() : undefined;
    },

    /** Copies the finished try into task_instance_history (the live row moves on to the next try). */
    async archiveTry(ti: TaskInstanceRow): Promise<void> {
      await db
        .insertInto("task_instance_history")
        .values({
          dag_id: ti.dag_id,
          run_id: ti.run_id,
          task_id: ti.task_id,
          map_index: ti.map_index,
          try_number: ti.try_number,
          state: ti.state,
          start_date: ti.start_date,
          end_date: ti.end_date,
          duration: ti.duration,
          hostname: ti.hostname,
          pid: ti.pid,
          operator: ti.operator,
          pool: ti.pool,
          queue: ti.queue,
          priority_weight: ti.priority_weight,
          rendered_fields: ti.rendered_fields,
        })
        .execute();
    },

    /** Sets (or removes, with null) a task instance's note; not a state change. */
    async setNote(key: TaskInstanceKey, note: string | null, now = nowIso()): Promise<boolean> {
      const result = await db
        .updateTable("task_instance")
        .set({ note, updated_at: now })
        .where("dag_id", "=", key.dagId)
        .where("run_id", "=", key.runId)
        .where("task_id", "=", key.taskId)
        .where("map_index", "=", key.mapIndex ?? -1)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    /** Deletes a task instance with its archived tries and its XComs (Airflow's cascade). */
    async delete(key: TaskInstanceKey): Promise<boolean> {
      return db.transaction().execute(async (trx) => {
        const mapIndex = key.mapIndex ?? -1;
        const ti = await trx
          .selectFrom("task_instance")
          .select("dag_run_id")
          .where("dag_id", "=", key.dagId)
          .where("run_id", "=", key.runId)
          .where("task_id", "=", key.taskId)
          .where("map_index", "=", mapIndex)
          .executeTakeFirst();
        if (!ti) return false;
        await trx
          .deleteFrom("xcom")
          .where("dag_run_id", "=", ti.dag_run_id)
          .where("task_id", "=", key.taskId)
          .where("map_index", "=", mapIndex)
          .execute();
        await trx
          .deleteFrom("task_instance_history")
          .where("dag_id", "=", key.dagId)
          .where("run_id", "=", key.runId)
          .where("task_id", "=", key.taskId)
          .where("map_index", "=", mapIndex)
          .execute();
        await trx
          .deleteFrom("task_instance")
          .where("dag_id", "=", key.dagId)
          .where("run_id", "=", key.runId)
          .where("task_id", "=", key.taskId)
          .where("map_index", "=", mapIndex)
          .execute();
        return true;
      });
    },

    /** One statement per interval, whatever the number of running tasks. */
    async heartbeat(keys: TaskInstanceKey[], now = nowIso()): Promise<void> {
      for (let i = 0; i < keys.length; i += 200) {
        const batch = keys.slice(i, i + 200);
        await db
          .updateTable("task_instance")
          .set({ last_heartbeat_at: now })
          .where("state", "in", ["running", "restarting"])
          .where((eb) =>
            eb.or(
              batch.map((k) =>
                eb.and([
                  eb("dag_id", "=", k.dagId),
                  eb("run_id", "=", k.runId),
                  eb("task_id", "=", k.taskId),
                  eb("map_index", "=", k.mapIndex ?? -1),
                ]),
              ),
            ),
          )
          .execute();
      }
    },
  };
}
export type TaskInstanceStore = ReturnType<typeof taskInstanceStore>;
