/**
 * Assets (issue 20, Airflow 3's data-aware scheduling), with Airflow's table names:
 * - `asset` (uri unique), `asset_alias` (name unique) and `asset_alias_asset` (what each alias has
 *   resolved to at run time);
 * - `asset_event`: one row per update (a task's success, or POST /api/v2/assets/events);
 * - `dag_schedule_asset_reference` / `dag_schedule_asset_alias_reference` (DAGs scheduled on an
 *   asset or alias) and `task_outlet_asset_reference` (tasks that update one), written by the DAG
 *   processor when it stores a DAG;
 * - `asset_dag_run_queue`: the events waiting for each consuming DAG, one row per (asset, DAG);
 * - `dagrun_asset_event`: the events an asset-triggered run was started by.
 * URIs and names are varchar(750): a unique key of MySQL's utf8mb4 stays under 3072 bytes.
 */
import { ID, TS, longText, withAutoId, type MigrationContext } from "./helpers.ts";

const URI = "varchar(750)";

export async function up({ db, adapter }: MigrationContext): Promise<void> {
  const text = longText(adapter);
  await withAutoId(db.schema.createTable("asset"), adapter)
    .addColumn("uri", URI, (c) => c.notNull().unique())
    .addColumn("name", URI, (c) => c.notNull())
    .addColumn("asset_group", ID, (c) => c.notNull())
    .addColumn("extra", text, (c) => c.notNull())
    .addColumn("created_at", TS, (c) => c.notNull())
    .addColumn("updated_at", TS, (c) => c.notNull())
    .execute();
  await withAutoId(db.schema.createTable("asset_alias"), adapter)
    .addColumn("name", URI, (c) => c.notNull().unique())
    .addColumn("asset_group", ID, (c) => c.notNull())
    .execute();
  await db.schema
    .createTable("asset_alias_asset")
    .addColumn("alias_id", "integer", (c) => c.notNull())
    .addColumn("asset_id", "integer", (c) => c.notNull())
    .addPrimaryKeyConstraint("pk_asset_alias_asset", ["alias_id", "asset_id"])
    .execute();

  await withAutoId(db.schema.createTable("asset_event"), adapter)
    .addColumn("asset_id", "integer", (c) => c.notNull())
    .addColumn("extra", text, (c) => c.notNull())
    .addColumn("source_dag_id", ID)
    .addColumn("source_task_id", ID)
    .addColumn("source_run_id", ID)
    .addColumn("source_map_index", "integer")
    .addColumn("source_alias_name", URI)
    .addColumn("timestamp", TS, (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("idx_asset_event_asset_timestamp")
    .on("asset_event")
    .columns(["asset_id", "timestamp"])
    .execute();
  await db.schema.createIndex("idx_asset_event_timestamp").on("asset_event").column("timestamp").execute();

  await db.schema
    .createTable("dag_schedule_asset_reference")
    .addColumn("asset_id", "integer", (c) => c.notNull())
    .addColumn("dag_id", ID, (c) => c.notNull())
    .addColumn("created_at", TS, (c) => c.notNull())
    .addPrimaryKeyConstraint("pk_dag_schedule_asset_reference", ["asset_id", "dag_id"])
    .execute();
  await db.schema
    .createIndex("idx_dag_schedule_asset_reference_dag")
    .on("dag_schedule_asset_reference")
    .column("dag_id")
    .execute();
  await db.schema
    .createTable("dag_schedule_asset_alias_reference")
    .addColumn("alias_id", "integer", (c) => c.notNull())
    .addColumn("dag_id", ID, (c) => c.notNull())
    .addColumn("created_at", TS, (c) => c.notNull())
    .addPrimaryKeyConstraint("pk_dag_schedule_asset_alias_reference", ["alias_id", "dag_id"])
    .execute();
  await db.schema
    .createTable("task_outlet_asset_reference")
    .addColumn("asset_id", "integer", (c) => c.notNull())
    .addColumn("dag_id", ID, (c) => c.notNull())
    .addColumn("task_id", ID, (c) => c.notNull())
    .addColumn("created_at", TS, (c) => c.notNull())
    .addPrimaryKeyConstraint("pk_task_outlet_asset_reference", ["asset_id", "dag_id", "task_id"])
    .execute();
  await db.schema
    .createIndex("idx_task_outlet_asset_reference_dag")
    .on("task_outlet_asset_reference")
    .column("dag_id")
    .execute();

  // One row per (asset, consuming DAG): a second event before the run only refreshes it (Airflow's).
  await db.schema
    .createTable("asset_dag_run_queue")
    .addColumn("asset_id", "integer", (c) => c.notNull())
    .addColumn("target_dag_id", ID, (c) => c.notNull())
    .addColumn("created_at", TS, (c) => c.notNull())
    .addPrimaryKeyConstraint("pk_asset_dag_run_queue", ["asset_id", "target_dag_id"])
    .execute();
  await db.schema
    .createIndex("idx_asset_dag_run_queue_target")
    .on("asset_dag_run_queue")
    .column("target_dag_id")
    .execute();

  await db.schema
    .createTable("dagrun_asset_event")
    .addColumn("dag_run_id", "integer", (c) => c.notNull())
    .addColumn("event_id", "integer", (c) => c.notNull())
    .addPrimaryKeyConstraint("pk_dagrun_asset_event", ["dag_run_id", "event_id"])
    .execute();
  await db.schema
    .createIndex("idx_dagrun_asset_event_event")
    .on("dagrun_asset_event")
    .column("event_id")
    .execute();
}
