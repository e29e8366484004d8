/**
 * DAG versions (issue 18, Airflow 3's AIP-65): every change of a DAG's serialized form is kept as a
 * numbered version with the file's source, and a run records the version it was created with, so
 * old runs keep showing the graph and code they ran. Existing DAGs get version 1 from their current
 * serialized form, and existing runs and task instances point at it (the only version known). Their
 * source is not known here (the DAGs folder is configuration, not schema): it stays null until the
 * file is parsed again, and the API reads the file meanwhile. Decisions: ../ADR.md S16.
 */
import { randomUUID } from "node:crypto";
import { ID, TS, longText, type MigrationContext } from "./helpers.ts";

export async function up({ db, adapter }: MigrationContext): Promise<void> {
  const text = longText(adapter);
  await db.schema
    .createTable("dag_version")
    .addColumn("id", "varchar(36)", (c) => c.primaryKey())
    .addColumn("dag_id", ID, (c) => c.notNull())
    .addColumn("version_number", "integer", (c) => c.notNull())
    .addColumn("dag_hash", "varchar(64)", (c) => c.notNull())
    .addColumn("fileloc", "varchar(750)", (c) => c.notNull())
    .addColumn("data", text, (c) => c.notNull())
    .addColumn("source_code", text)
    .addColumn("source_hash", "varchar(64)")
    .addColumn("created_at", TS, (c) => c.notNull())
    // Two processors storing the same change race for the same number: one wins, the other retries.
    .addUniqueConstraint("uq_dag_version_dag_id_number", ["dag_id", "version_number"])
    .execute();
  // A run finds its version by the hash of the form it was created from.
  await db.schema
    .createIndex("idx_dag_version_hash")
    .on("dag_version")
    .columns(["dag_id", "dag_hash"])
    .execute();
  await db.schema.alterTable("dag_run").addColumn("created_dag_version_id", "varchar(36)").execute();
  // The runs of a version: the API's dag_version filter, `dags list-versions`, a future retention.
  await db.schema
    .createIndex("idx_dag_run_created_dag_version")
    .on("dag_run")
    .column("created_dag_version_id")
    .execute();
  await db.schema.alterTable("task_instance").addColumn("dag_version_id", "varchar(36)").execute();

  const current = await db
    .selectFrom("serialized_dag")
    .select(["dag_id", "dag_hash", "fileloc", "data", "last_updated"])
    .execute();
  for (const row of current) {
    await db
      .insertInto("dag_version")
      .values({
        id: randomUUID(),
        dag_id: row.dag_id,
        version_number: 1,
        dag_hash: row.dag_hash,
        fileloc: row.fileloc,
        data: row.data,
        source_code: null,
        source_hash: null,
        created_at: row.last_updated,
      })
      .execute();
  }
  const versionOf = (table: "dag_run" | "task_instance") =>
    db
      .selectFrom("dag_version")
      .select("dag_version.id")
      .whereRef("dag_version.dag_id", "=", `${table}.dag_id` as never)
      .limit(1);
  await db
    .updateTable("dag_run")
    .set({ created_dag_version_id: versionOf("dag_run") })
    .execute();
  await db
    .updateTable("task_instance")
    .set({ dag_version_id: versionOf("task_instance") })
    .execute();
}
