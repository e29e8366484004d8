/**
 * Waiting without a slot (issue 19): sensors in reschedule mode and deferred tasks.
 * - `task_instance.next_method` / `next_kwargs`: how the next start of the same try goes on ("__poke__"
 *   after a reschedule, "resume" with the trigger's event, "__fail__" after a trigger timeout); a start
 *   with a next_method keeps the try number (a reschedule or a resumption is not a retry).
 * - `task_instance.trigger_id` / `trigger_timeout`: the trigger a deferred task instance waits on, and
 *   when the wait fails.
 * - `trigger`: what a triggerer runs; claimed with a lease (`triggerer_id`, `lease_until`).
 * - `task_reschedule`: one row per reschedule-mode poke that did not succeed (Airflow's).
 */
import { ID, TS, longText, withAutoId, type MigrationContext } from "./helpers.ts";

export async function up({ db, adapter }: MigrationContext): Promise<void> {
  const text = longText(adapter);
  await db.schema.alterTable("task_instance").addColumn("next_method", "varchar(100)").execute();
  await db.schema.alterTable("task_instance").addColumn("next_kwargs", text).execute();
  await db.schema.alterTable("task_instance").addColumn("trigger_id", "integer").execute();
  await db.schema.alterTable("task_instance").addColumn("trigger_timeout", TS).execute();
  // Firing a trigger finds its task instances; the timeout sweep finds overdue deferred ones.
  await db.schema.createIndex("idx_task_instance_trigger").on("task_instance").column("trigger_id").execute();
  await db.schema
    .createIndex("idx_task_instance_trigger_timeout")
    .on("task_instance")
    .columns(["state", "trigger_timeout"])
    .execute();

  await withAutoId(db.schema.createTable("trigger"), adapter)
    .addColumn("classpath", "varchar(1000)", (c) => c.notNull())
    .addColumn("kwargs", text, (c) => c.notNull())
    .addColumn("created_date", TS, (c) => c.notNull())
    .addColumn("triggerer_id", "integer")
    .addColumn("lease_until", TS)
    .execute();
  await db.schema
    .createIndex("idx_trigger_triggerer")
    .on("trigger")
    .columns(["triggerer_id", "lease_until"])
    .execute();

  await withAutoId(db.schema.createTable("task_reschedule"), adapter)
    .addColumn("dag_id", ID, (c) => c.notNull())
    .addColumn("run_id", ID, (c) => c.notNull())
    .addColumn("task_id", ID, (c) => c.notNull())
    .addColumn("map_index", "integer", (c) => c.notNull())
    .addColumn("try_number", "integer", (c) => c.notNull())
    .addColumn("start_date", TS, (c) => c.notNull())
    .addColumn("end_date", TS, (c) => c.notNull())
    .addColumn("duration", "double precision", (c) => c.notNull())
    .addColumn("reschedule_date", TS, (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("idx_task_reschedule_ti")
    .on("task_reschedule")
    .columns(["dag_id", "run_id", "task_id", "map_index", "try_number"])
    .execute();
}
