/**
 * Deferred task instances waiting on triggers, written straight to the tables as a runner that
 * deferred would leave them (state deferred, trigger_id, next_method "resume"): for tests and the
 * benchmark of the triggerer, which need no task to have run.
 */
import { sql } from "kysely";
import { dagRunStore } from "../storage/dag-runs.ts";
import type { Database } from "../storage/database.ts";
import { nowIso } from "../storage/database.ts";
import type { TriggerSpec } from "../sdk/triggers.ts";
import { serializedDag, serializedTask } from "./serialized.ts";

export interface DeferredTask {
  runId: string;
  taskId: string;
  triggerId: number;
}

/**
 * Run `runId` of `dagId` with one task per spec (t0, t1, ...), each deferred on a trigger of its own
 * made from its spec; `timeout` is each one's trigger_timeout.
 */
export async function deferredRun(
  database: Database,
  dagId: string,
  runId: string,
  specs: TriggerSpec[],
  o: { timeout?: string | null } = {},
): Promise<DeferredTask[]> {
  const tasks = specs.map((_, i) => serializedTask(`t${i}`));
  await dagRunStore(database).create({
    dag: serializedDag(dagId, tasks),
    runId,
    runType: "manual",
    logicalDate: null,
    dataIntervalStart: "2025-01-01T00:00:00.000Z",
    dataIntervalEnd: "2025-01-01T00:00:00.000Z",
    runAfter: "2025-01-01T00:00:00.000Z",
    conf: {},
  });
  const now = nowIso();
  const ids = await insertTriggers(database, specs, now);
  const { db } = database;
  // 500 task instances per UPDATE, each given its trigger by a CASE.
  for (let i = 0; i < ids.length; i += 500) {
    const chunk = ids.slice(i, i + 500).map((id, j) => ({ id, taskId: `t${i + j}` }));
    await db
      .updateTable("task_instance")
      .set({
        state: "deferred",
        trigger_id: sql<number>`case ${sql.ref("task_id")} ${sql.join(
          chunk.map((c) => sql`when ${c.taskId} then ${sql.lit(c.id)}`),
          sql` `,
        )} end`,
        trigger_timeout: o.timeout ?? null,
        next_method: "resume",
        updated_at: now,
      })
      .where("dag_id", "=", dagId)
      .where("run_id", "=", runId)
      .where(
        "task_id",
        "in",
        chunk.map((c) => c.taskId),
      )
      .execute();
  }
  return ids.map((triggerId, i) => ({ runId, taskId: `t${i}`, triggerId }));
}

/** Trigger rows, in order; their ids. (Tests write alone: the new ids are the ones after the newest.) */
export async function insertTriggers(
  database: Database,
  specs: TriggerSpec[],
  now = nowIso(),
): Promise<number[]> {
  const { db } = database;
  const newest = await db
    .selectFrom("trigger")
    .select((eb) => eb.fn.max("id").as("id"))
    .executeTakeFirst();
  const after = Number(newest?.id ?? 0);
  for (let i = 0; i < specs.length; i += 500)
    await db
      .insertInto("trigger")
      .values(
        specs.slice(i, i + 500).map((s) => ({
          classpath: s.classpath,
          kwargs: JSON.stringify(s.kwargs),
          created_date: now,
          triggerer_id: null,
          lease_until: null,
        })),
      )
      .execute();
  const rows = await db.selectFrom("trigger").select("id").where("id", ">", after).orderBy("id").execute();
  return rows.map((r) => r.id);
}
