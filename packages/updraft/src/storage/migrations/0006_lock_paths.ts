/**
 * Indexes for the statements that lock rows with several writers (PostgreSQL, MySQL/MariaDB). Without
 * an index on dag.fileloc, a DAG parse's `update dag ... where fileloc = ?` scans the whole table, and
 * on MySQL/MariaDB locks every row it reads: two files parsed at once deadlocked on a fresh database
 * (each had inserted a DAG row the other's scan then needed). With it, each parse touches only its own
 * file's rows.
 */
import type { MigrationContext } from "./helpers.ts";

export async function up({ db }: MigrationContext): Promise<void> {
  await db.schema.createIndex("idx_dag_fileloc").on("dag").column("fileloc").execute();
}
