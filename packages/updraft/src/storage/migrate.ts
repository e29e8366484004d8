/**
 * Forward-only numbered migrations, one set for every database. Kysely's Migrator holds a lock
 * (an advisory lock on PostgreSQL, GET_LOCK on MySQL, the single writer on SQLite), so two
 * processes running `db migrate` at once is safe.
 */
import { sql } from "kysely";
import { Migrator, type Migration } from "kysely/migration";
import type { Database } from "./database.ts";
import * as m0001 from "./migrations/0001_initial.ts";
import * as m0002 from "./migrations/0002_leases.ts";
import * as m0003 from "./migrations/0003_login_throttle.ts";
import * as m0004 from "./migrations/0004_list_indexes.ts";
import * as m0005 from "./migrations/0005_claim_index.ts";
import * as m0006 from "./migrations/0006_lock_paths.ts";
import * as m0007 from "./migrations/0007_sessions.ts";
import * as m0008 from "./migrations/0008_scale_indexes.ts";
import * as m0009 from "./migrations/0009_max_consecutive_failed_dag_runs.ts";
import * as m0010 from "./migrations/0010_rendered_map_index.ts";
import * as m0011 from "./migrations/0011_run_marked_state.ts";
import * as m0012 from "./migrations/0012_dag_versions.ts";
import * as m0013 from "./migrations/0013_deferral.ts";
import * as m0014 from "./migrations/0014_assets.ts";
import * as m0015 from "./migrations/0015_callbacks.ts";
import * as m0016 from "./migrations/0016_backfills.ts";
import type { MigrationContext } from "./migrations/helpers.ts";
import { TABLE_NAMES } from "./schema.ts";

const MIGRATIONS: Record<string, { up(ctx: MigrationContext): Promise<void> }> = {
  "0001_initial": m0001,
  "0002_leases": m0002,
  "0003_login_throttle": m0003,
  "0004_list_indexes": m0004,
  "0005_claim_index": m0005,
  "0006_lock_paths": m0006,
  "0007_sessions": m0007,
  "0008_scale_indexes": m0008,
  "0009_max_consecutive_failed_dag_runs": m0009,
  "0010_rendered_map_index": m0010,
  "0011_run_marked_state": m0011,
  "0012_dag_versions": m0012,
  "0013_deferral": m0013,
  "0014_assets": m0014,
  "0015_callbacks": m0015,
  "0016_backfills": m0016,
};

export const MIGRATION_TABLE = "updraft_migration";
const MIGRATION_LOCK_TABLE = "updraft_migration_lock";

async function migrator(database: Database): Promise<Migrator> {
  const migrations: Record<string, Migration> = {};
  for (const [name, migration] of Object.entries(MIGRATIONS)) {
    migrations[name] = { up: (db) => migration.up({ db, adapter: database.adapter }) };
  }
  return new Migrator({
    db: database.db,
    provider: { getMigrations: async () => migrations },
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: MIGRATION_LOCK_TABLE,
    // Kysely looks for its tables in any schema unless told which: name the one in use.
    ...(database.adapter.name === "postgres" ? { migrationTableSchema: await currentSchema(database) } : {}),
  });
}

async function currentSchema(database: Database): Promise<string> {
  const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(database.db);
  return rows[0]!.schema;
}

export interface MigrationStatus {
  name: string;
  appliedAt: Date | null;
}

export async function migrationStatus(database: Database): Promise<MigrationStatus[]> {
  const list = await (await migrator(database)).getMigrations();
  return list.map((m) => ({ name: m.name, appliedAt: m.executedAt ?? null }));
}

/**
 * Applies every pending migration (or those up to `upTo`, for tests of an upgrade with data); returns
 * the names applied (none when up to date).
 */
export async function migrateDatabase(
  database: Database,
  onProgress: (message: string) => void = () => undefined,
  upTo?: string,
): Promise<string[]> {
  const m = await migrator(database);
  const { error, results = [] } = await (upTo === undefined ? m.migrateToLatest() : m.migrateTo(upTo));
  for (const r of results) onProgress(`migration ${r.migrationName}: ${r.status.toLowerCase()}`);
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return results.filter((r) => r.status === "Success").map((r) => r.migrationName);
}

/** Drops every Updraft table, then migrates afresh. Destroys all data: the CLI asks first. */
export async function resetDatabase(
  database: Database,
  onProgress?: (message: string) => void,
): Promise<void> {
  await dropTables(database, onProgress);
  await migrateDatabase(database, onProgress);
}

/** Drops every Updraft table and the migrations' record (reset, and upgrade tests). */
export async function dropTables(database: Database, onProgress?: (message: string) => void): Promise<void> {
  for (const table of [...TABLE_NAMES].reverse()) {
    await database.db.schema.dropTable(table).ifExists().execute();
    onProgress?.(`dropped ${table}`);
  }
  for (const table of [MIGRATION_TABLE, MIGRATION_LOCK_TABLE]) {
    await database.db.schema.dropTable(table).ifExists().execute();
  }
}

/** Round-trips a query: proves the database is reachable and answering. */
export async function pingDatabase(database: Database): Promise<number> {
  const started = performance.now();
  await sql`select 1`.execute(database.db);
  return performance.now() - started;
}
