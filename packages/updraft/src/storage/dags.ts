/**
 * DAGs as the DAG processor stores them: the serialized form, the `dag` row the scheduler and UI
 * read, tags, the files seen with their content hashes, and import errors. All writes for one file
 * happen in one transaction, so a reader never sees a file half-synced. Several DAG processors (and
 * several files in flight in one) sync at once: DAG rows are written in dag_id order, and a deadlock
 * or a DAG row another processor inserted first rolls the file's transaction back to run again.
 */
import { createHash } from "node:crypto";
import type { Transaction } from "kysely";
import { describeSchedule } from "../core/schedule.ts";
import { SerializedDagSchema, type SerializedDag } from "../core/serialized.ts";
import { deleteDagAssetRows, replaceDagAssetReferences } from "./assets.ts";
import type { Database } from "./database.ts";
import { nowIso } from "./database.ts";
import type { DagRow, ImportErrorRow, Tables } from "./schema.ts";
import { recordVersion } from "./dag-versions.ts";
import { isTransientDbError, isUniqueViolation, retrying } from "./retry.ts";
import { upsert } from "./upsert.ts";

export interface ImportErrorInput {
  message: string;
  stacktrace: string | null;
}

export interface FileParseResult {
  fileloc: string;
  contentHash: string;
  durationMs: number;
  /** The file's text, kept with each new version of its DAGs (dag-versions.ts). */
  source?: string;
  dags: SerializedDag[];
  errors: ImportErrorInput[];
}

export interface SyncOptions {
  /** New DAGs start paused unless they say otherwise (`core.dags_are_paused_at_creation`). */
  pausedAtCreation: boolean;
  now?: string;
}

export function dagHash(dag: SerializedDag): string {
  return createHash("sha256").update(JSON.stringify(dag)).digest("hex");
}

/** Serialized DAGs by content hash (immutable per hash), shared by every store in the process. */
const parsedDags = new Map<string, SerializedDag>();

/** A sync runs again after a deadlock, or after losing the race to insert the same new DAG row. */
const syncRetry = (what: string) => ({
  what,
  maxMs: 60_000,
  isTransient: (error: unknown) => isTransientDbError(error) || isUniqueViolation(error),
});

export function dagStore(database: Database) {
  const { db } = database;

  async function syncFile(
    result: FileParseResult,
    options: SyncOptions,
  ): Promise<{ stored: string[]; errors: number }> {
    const now = options.now ?? nowIso();
    return retrying(() => syncFileOnce(result, options, now), syncRetry(`storing ${result.fileloc}`));
  }

  async function syncFileOnce(result: FileParseResult, options: SyncOptions, now: string) {
    return db.transaction().execute(async (trx) => {
      const errors = [...result.errors];
      const stored: string[] = [];
      // Rows locked in primary-key order, as every writer of dag rows does: no lock cycles.
      const dags = [...result.dags].sort((a, b) => (a.dagId < b.dagId ? -1 : a.dagId > b.dagId ? 1 : 0));
      for (const dag of dags) {
        const owner = await trx
          .selectFrom("dag")
          .select(["fileloc", "is_active"])
          .where("dag_id", "=", dag.dagId)
          .executeTakeFirst();
        if (owner && owner.is_active && owner.fileloc !== result.fileloc) {
          errors.push({
            message: `dag "${dag.dagId}" is already defined in ${owner.fileloc}: DAG ids must be unique across files`,
            stacktrace: null,
          });
          continue;
        }
        await storeDag(trx, dag, result, now, owner === undefined ? isPaused(dag, options) : undefined);
        stored.push(dag.dagId);
      }
      // DAGs this file used to define but no longer does are gone from it: inactive, not deleted.
      let gone = trx.updateTable("dag").set({ is_active: 0 }).where("fileloc", "=", result.fileloc);
      if (stored.length > 0) gone = gone.where("dag_id", "not in", stored);
      await gone.execute();
      await trx
        .updateTable("dag")
        .set({ has_import_errors: errors.length > 0 ? 1 : 0 })
        .where("fileloc", "=", result.fileloc)
        .execute();
      await replaceImportErrors(trx, result.fileloc, errors, now);
      const fileRow = {
        fileloc: result.fileloc,
        content_hash: result.contentHash,
        last_parsed: now,
        parse_duration_ms: Math.round(result.durationMs),
        dag_count: stored.length,
        is_active: 1,
      };
      await upsert(
        database,
        trx,
        "dag_file",
        fileRow,
        ["fileloc"],
        ["content_hash", "last_parsed", "parse_duration_ms", "dag_count", "is_active"],
      );
      return { stored, errors: errors.length };
    });
  }

  async function storeDag(
    trx: Transaction<Tables>,
    dag: SerializedDag,
    file: FileParseResult,
    now: string,
    pausedOnCreate: boolean | undefined,
  ) {
    const { fileloc } = file;
    const hash = dagHash(dag);
    const row = {
      dag_id: dag.dagId,
      fileloc,
      is_active: 1,
      description: dag.description,
      owners: [...new Set(dag.tasks.map((t) => t.owner).concat(dag.owner))].join(", "),
      schedule_description: describeSchedule(dag.schedule),
      timezone: dag.timezone,
      max_active_runs: dag.maxActiveRuns,
      max_consecutive_failed_dag_runs: dag.maxConsecutiveFailedDagRuns,
      max_active_tasks: dag.maxActiveTasks,
      last_parsed_time: now,
      dag_hash: hash,
    };
    if (pausedOnCreate !== undefined) {
      await trx
        .insertInto("dag")
        .values({ ...row, is_paused: pausedOnCreate ? 1 : 0, has_import_errors: 0 })
        .execute();
    } else {
      const { dag_id: _id, ...updates } = row;
      const changed = await trx
        .selectFrom("dag")
        .select("dag_hash")
        .where("dag_id", "=", dag.dagId)
        .executeTakeFirst();
      // A changed DAG may have a new schedule: the scheduler computes its next run afresh.
      const reset =
        changed?.dag_hash !== hash
          ? {
              next_dagrun: null,
              next_dagrun_data_interval_start: null,
              next_dagrun_data_interval_end: null,
              next_dagrun_create_after: null,
            }
          : {};
      await trx
        .updateTable("dag")
        .set({ ...updates, ...reset })
        .where("dag_id", "=", dag.dagId)
        .execute();
    }
    const current = await trx
      .selectFrom("serialized_dag")
      .select("dag_hash")
      .where("dag_id", "=", dag.dagId)
      .executeTakeFirst();
    if (current?.dag_hash !== hash) {
      const serialized = {
        dag_id: dag.dagId,
        fileloc,
        data: JSON.stringify(dag),
        dag_hash: hash,
        version: dag.version,
        last_updated: now,
      };
      await upsert(
        database,
        trx,
        "serialized_dag",
        serialized,
        ["dag_id"],
        ["fileloc", "data", "dag_hash", "version", "last_updated"],
      );
    }
    await recordVersion(trx, { dag, hash, fileloc, source: file.source, now });
    await replaceDagAssetReferences(database, trx, dag, now);
    await trx.deleteFrom("dag_tag").where("dag_id", "=", dag.dagId).execute();
    const tags = [...new Set(dag.tags)];
    if (tags.length > 0)
      await trx
        .insertInto("dag_tag")
        .values(tags.map((name) => ({ dag_id: dag.dagId, name })))
        .execute();
  }

  async function replaceImportErrors(
    trx: Transaction<Tables>,
    fileloc: string,
    errors: ImportErrorInput[],
    now: string,
  ) {
    await trx.deleteFrom("import_error").where("fileloc", "=", fileloc).execute();
    if (errors.length === 0) return;
    await trx
      .insertInto("import_error")
      .values(errors.map((e) => ({ fileloc, message: e.message, stacktrace: e.stacktrace, timestamp: now })))
      .execute();
  }

  async function deleteDagOnce(dagId: string): Promise<"deleted" | "not_found" | "running"> {
    return db.transaction().execute(async (trx) => {
      const dag = await trx
        .selectFrom("dag")
        .select("fileloc")
        .where("dag_id", "=", dagId)
        .executeTakeFirst();
      if (!dag) return "not_found";
      const running = await trx
        .selectFrom("task_instance")
        .select("task_id")
        .where("dag_id", "=", dagId)
        .where("state", "=", "running")
        .limit(1)
        .executeTakeFirst();
      if (running) return "running";
      await deleteDagAssetRows(trx, dagId);
      for (const table of [
        "xcom",
        "task_instance_history",
        "task_reschedule",
        "task_instance",
        "dag_run",
        "backfill",
        "dag_tag",
        "serialized_dag",
        "dag_version",
        "dag",
      ] as const)
        await trx.deleteFrom(table).where("dag_id", "=", dagId).execute();
      await trx.deleteFrom("import_error").where("fileloc", "=", dag.fileloc).execute();
      await trx
        .updateTable("dag_file")
        .set({ content_hash: "" })
        .where("fileloc", "=", dag.fileloc)
        .execute();
      return "deleted";
    });
  }

  return {
    syncFile,

    /** Files that are no longer on disk: their DAGs become inactive, their import errors go. */
    async deactivateMissingFiles(
      present: Iterable<string>,
      isManaged: (fileloc: string) => boolean = () => true,
    ): Promise<string[]> {
      const keep = new Set(present);
      const known = await db.selectFrom("dag_file").select("fileloc").where("is_active", "=", 1).execute();
      const gone = known.map((r) => r.fileloc).filter((f) => !keep.has(f) && isManaged(f));
      for (const fileloc of gone) {
        const deactivate = () =>
          db.transaction().execute(async (trx) => {
            await trx.updateTable("dag").set({ is_active: 0 }).where("fileloc", "=", fileloc).execute();
            await trx.updateTable("dag_file").set({ is_active: 0 }).where("fileloc", "=", fileloc).execute();
            await trx.deleteFrom("import_error").where("fileloc", "=", fileloc).execute();
          });
        await retrying(deactivate, syncRetry(`deactivating ${fileloc}`));
      }
      return gone;
    },

    async fileHashes(): Promise<Map<string, string>> {
      const rows = await db
        .selectFrom("dag_file")
        .select(["fileloc", "content_hash"])
        .where("is_active", "=", 1)
        .execute();
      return new Map(rows.map((r) => [r.fileloc, r.content_hash]));
    },

    async forgetFileHashes(): Promise<void> {
      await db.updateTable("dag_file").set({ content_hash: "" }).execute();
    },

    async list(
      filter: { activeOnly?: boolean; tags?: string[] } = {},
    ): Promise<(DagRow & { tags: string[] })[]> {
      let query = db.selectFrom("dag").selectAll().orderBy("dag_id");
      if (filter.activeOnly !== false) query = query.where("is_active", "=", 1);
      if (filter.tags?.length) {
        query = query.where(
          "dag_id",
          "in",
          db.selectFrom("dag_tag").select("dag_id").where("name", "in", filter.tags),
        );
      }
      const rows = await query.execute();
      const tags = await db.selectFrom("dag_tag").select(["dag_id", "name"]).orderBy("name").execute();
      const byDag = Map.groupBy(tags, (t) => t.dag_id);
      return rows.map((r) => ({ ...r, tags: (byDag.get(r.dag_id) ?? []).map((t) => t.name) }));
    },

    async get(dagId: string): Promise<DagRow | undefined> {
      return db.selectFrom("dag").selectAll().where("dag_id", "=", dagId).executeTakeFirst();
    },

    /** Parsed once per version: the hash is read first, and a known version costs no parse. */
    async getSerialized(dagId: string): Promise<SerializedDag | undefined> {
      const head = await db
        .selectFrom("serialized_dag")
        .select("dag_hash")
        .where("dag_id", "=", dagId)
        .executeTakeFirst();
      if (!head) return undefined;
      const cached = parsedDags.get(head.dag_hash);
      if (cached) return cached;
      const row = await db
        .selectFrom("serialized_dag")
        .select(["data", "dag_hash"])
        .where("dag_id", "=", dagId)
        .executeTakeFirst();
      if (!row) return undefined;
      const dag = SerializedDagSchema.parse(JSON.parse(row.data));
      if (parsedDags.size >= 256) parsedDags.delete(parsedDags.keys().next().value!);
      parsedDags.set(row.dag_hash, dag);
      return dag;
    },

    /** Pauses or unpauses one DAG or many (in batches under every database's parameter limit). */
    async setPaused(dagIds: string | readonly string[], paused: boolean): Promise<boolean> {
      const ids = typeof dagIds === "string" ? [dagIds] : dagIds;
      let updated = 0;
      for (let i = 0; i < ids.length; i += 500) {
        const result = await db
          .updateTable("dag")
          .set({ is_paused: paused ? 1 : 0 })
          .where("dag_id", "in", ids.slice(i, i + 500))
          .executeTakeFirst();
        updated += Number(result.numUpdatedRows);
      }
      return updated > 0;
    },

    /**
     * Deletes a DAG's metadata (runs, task instances and their tries, XComs, tags, serialized form,
     * the `dag` row) and its file's import errors, as Airflow's delete_dag does; audit rows stay. The
     * file is marked for parsing again, so a DAG still defined there comes back as new. Refuses while
     * a task instance of the DAG is running.
     */
    async deleteDag(dagId: string): Promise<"deleted" | "not_found" | "running"> {
      // Deletes task instances before their runs, the reverse of a run's examination: a deadlock
      // between the two rolls this back, and it runs again.
      return retrying(() => deleteDagOnce(dagId), { what: `deleting dag ${dagId}`, maxMs: 60_000 });
    },

    /** Marks a known file for parsing on the DAG processor's next pass; false when the file is unknown. */
    async requestReparse(fileloc: string): Promise<boolean> {
      const result = await db
        .updateTable("dag_file")
        .set({ content_hash: "" })
        .where("fileloc", "=", fileloc)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    async importErrors(): Promise<ImportErrorRow[]> {
      return db.selectFrom("import_error").selectAll().orderBy("fileloc").orderBy("id").execute();
    },
  };
}
export type DagStore = ReturnType<typeof dagStore>;

function isPaused(dag: SerializedDag, options: SyncOptions): boolean {
  return dag.isPausedUponCreation ?? options.pausedAtCreation;
}
