/** The first schema: every table the foundation and the scheduler need. */
import { ID, TS, longText, withAutoId, type MigrationContext } from "./helpers.ts";

export async function up({ db, adapter }: MigrationContext): Promise<void> {
  const text = longText(adapter);
  await db.schema
    .createTable("dag")
    .addColumn("dag_id", ID, (c) => c.primaryKey())
    .addColumn("fileloc", "varchar(750)", (c) => c.notNull())
    .addColumn("is_paused", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("is_active", "integer", (c) => c.notNull().defaultTo(1))
    .addColumn("description", text)
    .addColumn("owners", "varchar(500)", (c) => c.notNull().defaultTo(""))
    .addColumn("schedule_description", "varchar(250)", (c) => c.notNull().defaultTo("None"))
    .addColumn("timezone", "varchar(64)", (c) => c.notNull().defaultTo("UTC"))
    .addColumn("max_active_runs", "integer", (c) => c.notNull().defaultTo(16))
    .addColumn("max_active_tasks", "integer", (c) => c.notNull().defaultTo(16))
    .addColumn("last_parsed_time", TS)
    .addColumn("dag_hash", "varchar(64)")
    .addColumn("has_import_errors", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("next_dagrun", TS)
    .addColumn("next_dagrun_data_interval_start", TS)
    .addColumn("next_dagrun_data_interval_end", TS)
    .addColumn("next_dagrun_create_after", TS)
    .execute();
  await db.schema
    .createIndex("idx_dag_next_dagrun_create_after")
    .on("dag")
    .column("next_dagrun_create_after")
    .execute();

  await db.schema
    .createTable("dag_tag")
    .addColumn("dag_id", ID, (c) => c.notNull().references("dag.dag_id").onDelete("cascade"))
    .addColumn("name", "varchar(100)", (c) => c.notNull())
    .addPrimaryKeyConstraint("pk_dag_tag", ["dag_id", "name"])
    .execute();
  await db.schema.createIndex("idx_dag_tag_name").on("dag_tag").column("name").execute();

  await db.schema
    .createTable("serialized_dag")
    .addColumn("dag_id", ID, (c) => c.primaryKey().references("dag.dag_id").onDelete("cascade"))
    .addColumn("fileloc", "varchar(750)", (c) => c.notNull())
    .addColumn("data", text, (c) => c.notNull())
    .addColumn("dag_hash", "varchar(64)", (c) => c.notNull())
    .addColumn("version", "integer", (c) => c.notNull())
    .addColumn("last_updated", TS, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("dag_file")
    .addColumn("fileloc", "varchar(750)", (c) => c.primaryKey())
    .addColumn("content_hash", "varchar(64)", (c) => c.notNull())
    .addColumn("last_parsed", TS, (c) => c.notNull())
    .addColumn("parse_duration_ms", "integer", (c) => c.notNull())
    .addColumn("dag_count", "integer", (c) => c.notNull())
    .addColumn("is_active", "integer", (c) => c.notNull().defaultTo(1))
    .execute();

  await withAutoId(db.schema.createTable("import_error"), adapter)
    .addColumn("fileloc", "varchar(750)", (c) => c.notNull())
    .addColumn("message", text, (c) => c.notNull())
    .addColumn("stacktrace", text)
    .addColumn("timestamp", TS, (c) => c.notNull())
    .execute();
  await db.schema.createIndex("idx_import_error_fileloc").on("import_error").column("fileloc").execute();

  await withAutoId(db.schema.createTable("dag_run"), adapter)
    .addColumn("dag_id", ID, (c) => c.notNull())
    .addColumn("run_id", ID, (c) => c.notNull())
    .addColumn("logical_date", TS)
    .addColumn("data_interval_start", TS)
    .addColumn("data_interval_end", TS)
    .addColumn("run_after", TS, (c) => c.notNull())
    .addColumn("queued_at", TS)
    .addColumn("start_date", TS)
    .addColumn("end_date", TS)
    .addColumn("state", "varchar(20)", (c) => c.notNull())
    .addColumn("run_type", "varchar(20)", (c) => c.notNull())
    .addColumn("triggered_by", "varchar(50)")
    .addColumn("conf", text)
    .addColumn("dag_hash", "varchar(64)")
    .addColumn("note", text)
    .addColumn("last_scheduling_decision", TS)
    .addColumn("updated_at", TS, (c) => c.notNull())
    .addUniqueConstraint("uq_dag_run_dag_id_run_id", ["dag_id", "run_id"])
    .execute();
  await db.schema
    .createIndex("idx_dag_run_dag_logical")
    .on("dag_run")
    .columns(["dag_id", "logical_date"])
    .execute();
  await db.schema.createIndex("idx_dag_run_state").on("dag_run").columns(["state", "dag_id"]).execute();

  await db.schema
    .createTable("task_instance")
    .addColumn("dag_id", ID, (c) => c.notNull())
    .addColumn("run_id", ID, (c) => c.notNull())
    .addColumn("task_id", ID, (c) => c.notNull())
    .addColumn("map_index", "integer", (c) => c.notNull().defaultTo(-1))
    .addColumn("dag_run_id", "integer", (c) => c.notNull().references("dag_run.id").onDelete("cascade"))
    .addColumn("state", "varchar(20)")
    .addColumn("try_number", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("max_tries", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("operator", "varchar(100)", (c) => c.notNull())
    .addColumn("pool", "varchar(250)", (c) => c.notNull())
    .addColumn("pool_slots", "integer", (c) => c.notNull().defaultTo(1))
    .addColumn("queue", "varchar(250)", (c) => c.notNull())
    .addColumn("priority_weight", "integer", (c) => c.notNull().defaultTo(1))
    .addColumn("start_date", TS)
    .addColumn("end_date", TS)
    .addColumn("duration", "double precision")
    .addColumn("queued_dttm", TS)
    .addColumn("scheduled_dttm", TS)
    .addColumn("next_retry_at", TS)
    .addColumn("hostname", "varchar(250)")
    .addColumn("pid", "integer")
    .addColumn("executor", "varchar(100)")
    .addColumn("claimed_by_job_id", "integer")
    .addColumn("last_heartbeat_at", TS)
    .addColumn("rendered_fields", text)
    .addColumn("note", text)
    .addColumn("updated_at", TS, (c) => c.notNull())
    .addPrimaryKeyConstraint("pk_task_instance", ["dag_id", "run_id", "task_id", "map_index"])
    .execute();
  await db.schema.createIndex("idx_ti_state").on("task_instance").columns(["state", "pool"]).execute();
  await db.schema
    .createIndex("idx_ti_dag_run")
    .on("task_instance")
    .columns(["dag_run_id", "state"])
    .execute();

  await db.schema
    .createTable("task_instance_history")
    .addColumn("dag_id", ID, (c) => c.notNull())
    .addColumn("run_id", ID, (c) => c.notNull())
    .addColumn("task_id", ID, (c) => c.notNull())
    .addColumn("map_index", "integer", (c) => c.notNull().defaultTo(-1))
    .addColumn("try_number", "integer", (c) => c.notNull())
    .addColumn("state", "varchar(20)")
    .addColumn("start_date", TS)
    .addColumn("end_date", TS)
    .addColumn("duration", "double precision")
    .addColumn("hostname", "varchar(250)")
    .addColumn("pid", "integer")
    .addColumn("operator", "varchar(100)", (c) => c.notNull())
    .addColumn("pool", "varchar(250)", (c) => c.notNull())
    .addColumn("queue", "varchar(250)", (c) => c.notNull())
    .addColumn("priority_weight", "integer", (c) => c.notNull())
    .addColumn("rendered_fields", text)
    .execute();
  // A MySQL key over three 250-character ids plus two integers would pass 3072 bytes: index the run.
  await db.schema
    .createIndex("idx_tih_ti")
    .on("task_instance_history")
    .columns(["dag_id", "run_id", "task_id"])
    .execute();

  await db.schema
    .createTable("xcom")
    .addColumn("dag_run_id", "integer", (c) => c.notNull().references("dag_run.id").onDelete("cascade"))
    .addColumn("task_id", ID, (c) => c.notNull())
    .addColumn("map_index", "integer", (c) => c.notNull().defaultTo(-1))
    .addColumn("key", "varchar(250)", (c) => c.notNull())
    .addColumn("dag_id", ID, (c) => c.notNull())
    .addColumn("run_id", ID, (c) => c.notNull())
    .addColumn("value", text)
    .addColumn("timestamp", TS, (c) => c.notNull())
    .addPrimaryKeyConstraint("pk_xcom", ["dag_run_id", "task_id", "map_index", "key"])
    .execute();

  await withAutoId(db.schema.createTable("variable"), adapter)
    .addColumn("key", ID, (c) => c.notNull().unique())
    .addColumn("val", text)
    .addColumn("description", text)
    .addColumn("is_encrypted", "integer", (c) => c.notNull().defaultTo(0))
    .execute();

  await withAutoId(db.schema.createTable("connection"), adapter)
    .addColumn("conn_id", ID, (c) => c.notNull().unique())
    .addColumn("conn_type", "varchar(500)", (c) => c.notNull())
    .addColumn("description", text)
    .addColumn("host", "varchar(500)")
    .addColumn("schema", "varchar(500)")
    .addColumn("login", text)
    .addColumn("password", text)
    .addColumn("port", "integer")
    .addColumn("extra", text)
    .addColumn("is_encrypted", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("is_extra_encrypted", "integer", (c) => c.notNull().defaultTo(0))
    .execute();

  await withAutoId(db.schema.createTable("slot_pool"), adapter)
    .addColumn("pool", ID, (c) => c.notNull().unique())
    .addColumn("slots", "integer", (c) => c.notNull())
    .addColumn("description", text)
    .addColumn("include_deferred", "integer", (c) => c.notNull().defaultTo(0))
    .execute();
  await db
    .insertInto("slot_pool")
    .values({ pool: "default_pool", slots: 128, description: "Default pool", include_deferred: 0 })
    .execute();

  await withAutoId(db.schema.createTable("job"), adapter)
    .addColumn("job_type", "varchar(30)", (c) => c.notNull())
    .addColumn("state", "varchar(20)", (c) => c.notNull())
    .addColumn("hostname", "varchar(250)", (c) => c.notNull())
    .addColumn("pid", "integer", (c) => c.notNull())
    .addColumn("start_date", TS, (c) => c.notNull())
    .addColumn("end_date", TS)
    .addColumn("latest_heartbeat", TS, (c) => c.notNull())
    .addColumn("last_error", text)
    .execute();
  await db.schema
    .createIndex("idx_job_type_heartbeat")
    .on("job")
    .columns(["job_type", "latest_heartbeat"])
    .execute();

  await withAutoId(db.schema.createTable("users"), adapter)
    .addColumn("username", ID, (c) => c.notNull().unique())
    .addColumn("email", "varchar(250)")
    .addColumn("first_name", "varchar(250)")
    .addColumn("last_name", "varchar(250)")
    .addColumn("password_hash", "varchar(500)")
    .addColumn("role", "varchar(50)", (c) => c.notNull())
    .addColumn("active", "integer", (c) => c.notNull().defaultTo(1))
    .addColumn("created_at", TS, (c) => c.notNull())
    .addColumn("last_login", TS)
    .execute();

  await withAutoId(db.schema.createTable("audit_log"), adapter)
    .addColumn("dttm", TS, (c) => c.notNull())
    .addColumn("event", "varchar(60)", (c) => c.notNull())
    .addColumn("owner", "varchar(500)")
    .addColumn("dag_id", ID)
    .addColumn("task_id", ID)
    .addColumn("run_id", ID)
    .addColumn("map_index", "integer")
    .addColumn("try_number", "integer")
    .addColumn("extra", text)
    .execute();
  await db.schema.createIndex("idx_audit_log_dttm").on("audit_log").column("dttm").execute();
}
