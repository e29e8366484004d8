/**
 * Deleting old metadata (Airflow's `airflow db clean`), for `updraft db clean` and the scheduler's
 * `[database] retention_days`: finished runs that ended before a date with their task instances
 * (rendered fields included), tries and XComs; audit log entries; finished jobs. Batched, archived
 * by default, and counted without change on a dry run. What is kept and why: ADR.md O6.
 */
import { InvalidInputError } from "../core/errors.ts";
import type { Database } from "../storage/database.ts";
import {
  CLEANABLE_TABLES,
  ROW_TABLES,
  RUN_TABLES,
  archiveTableName,
  metadataCleaner,
  type CleanableTable,
  type MetadataCleaner,
  type RowCounts,
  type RowTable,
  type RunTable,
} from "../storage/clean.ts";

/** The names `--tables` takes: Updraft's tables, and `log`, Airflow's name for the audit log. */
export const CLEAN_TABLE_NAMES = [...CLEANABLE_TABLES, "log"] as const;
const ALIASES: Record<string, CleanableTable> = { log: "audit_log" };

/** About 1,000 runs per transaction keeps SQLite's write lock to a fraction of a second (ADR O6). */
export const DEFAULT_BATCH_SIZE = 1000;
/** Bounded so a batch's ids stay well within every database's limit on bound parameters. */
const MAX_BATCH_SIZE = 10_000;

export interface CleanPlan {
  /** ISO-8601 UTC: what ended before this goes. */
  before: string;
  /** In cleaning order; dag_run brings its children. */
  tables: CleanableTable[];
  archive: boolean;
  dryRun: boolean;
  batchSize: number;
  vacuum: boolean;
}

export interface CleanRequest {
  before: string;
  /** Names from CLEAN_TABLE_NAMES; default: every table. */
  tables?: readonly string[];
  archive?: boolean;
  dryRun?: boolean;
  batchSize?: number;
  vacuum?: boolean;
}

/** The plan for a request: tables resolved (aliases, dag_run's children) and checked. */
export function planClean(r: CleanRequest): CleanPlan {
  const named = new Set((r.tables ?? CLEANABLE_TABLES).map(tableNamed));
  // A run's rows go with it: its task instances, their tries and its XComs have no meaning alone.
  if (named.has("dag_run")) for (const t of RUN_TABLES) named.add(t);
  const batchSize = r.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH_SIZE)
    throw new InvalidInputError(`the batch size must be a whole number from 1 to ${MAX_BATCH_SIZE}`);
  return {
    before: r.before,
    tables: CLEANABLE_TABLES.filter((t) => named.has(t)),
    archive: r.archive ?? true,
    dryRun: r.dryRun ?? false,
    batchSize,
    vacuum: r.vacuum ?? false,
  };
}

function tableNamed(name: string): CleanableTable {
  const table = ALIASES[name] ?? CLEANABLE_TABLES.find((t) => t === name);
  if (!table)
    throw new InvalidInputError(
      `"${name}" is not a table db clean cleans: use ${CLEAN_TABLE_NAMES.join(", ")}`,
    );
  return table;
}

const TIMESTAMP = /^(\d{4}-\d\d-\d\d)(?:[T ](\d\d:\d\d(?::\d\d(?:\.\d+)?)?))?\s*(Z|[+-]\d\d:?\d\d)?$/i;

/**
 * A timestamp as ISO-8601 UTC, strictly: a date, or a date and time, with an optional zone (none
 * means UTC). `what` names the input in the error (a CLI flag, a config option).
 */
export function parseTimestamp(text: string, what: string): string {
  const m = TIMESTAMP.exec(text.trim());
  const [, day = "", time = "00:00", zone = "Z"] = m ?? [];
  const date = new Date(`${day}T${time}${zone}`);
  // Date rolls 2025-02-30 over into March: the day must exist as written.
  if (!m || Number.isNaN(date.getTime()) || new Date(`${day}T00:00Z`).toISOString().slice(0, 10) !== day)
    throw new InvalidInputError(
      `${what} "${text}" is not a timestamp: write ISO 8601, e.g. 2025-01-31, 2025-01-31T06:00:00 (UTC) or 2025-01-31T06:00:00+02:00`,
    );
  return date.toISOString();
}

export interface CleanResult {
  /** Rows deleted (or, on a dry run, that would be) per table, every planned table listed. */
  counts: Record<CleanableTable, number>;
  /** The archive tables rows were copied to. */
  archives: string[];
}

export interface CleanHooks {
  /** Told after each batch: the table (`dag_run` for runs), how many done, of about how many. */
  onProgress?: (table: CleanableTable, done: number, total: number) => void;
  /** Awaited before each batch (the scheduler's retention pauses and renews its lease there). */
  beforeBatch?: () => Promise<void>;
  /** Stops between batches (a service shutting down); what was done stays done. */
  signal?: AbortSignal;
}

export async function cleanMetadata(
  database: Database,
  plan: CleanPlan,
  hooks: CleanHooks = {},
): Promise<CleanResult> {
  const cleaner = metadataCleaner(database);
  const counts = Object.fromEntries(plan.tables.map((t) => [t, 0])) as Record<CleanableTable, number>;
  const archives = new Set<string>();
  const add = (more: RowCounts) => {
    for (const [t, n] of Object.entries(more) as [CleanableTable, number][]) counts[t] += n;
  };
  const runTables = RUN_TABLES.filter((t) => plan.tables.includes(t));
  if (runTables.length > 0) add(await cleanRuns(cleaner, plan, runTables, archives, hooks));
  for (const table of ROW_TABLES.filter((t) => plan.tables.includes(t)))
    add(await cleanRows(cleaner, plan, table, archives, hooks));
  // Even when nothing went now: an earlier clean without --vacuum may have left the space unused.
  if (plan.vacuum && !plan.dryRun) await database.adapter.reclaimSpace(database.db as never, plan.tables);
  return { counts, archives: [...archives] };
}

async function cleanRuns(
  cleaner: MetadataCleaner,
  plan: CleanPlan,
  tables: RunTable[],
  archives: Set<string>,
  hooks: CleanHooks,
): Promise<RowCounts> {
  const keep = await cleaner.keptRuns(plan.before);
  const total = (await cleaner.countOldRuns(plan.before)) - keep.size;
  if (total > 0) await ensureArchives(cleaner, plan, tables, archives);
  const batch = (after: number) =>
    cleaner.cleanRunBatch({ ...plan, tables, keep, after, limit: plan.batchSize });
  return inBatches(batch, "dag_run", total, hooks);
}

async function cleanRows(
  cleaner: MetadataCleaner,
  plan: CleanPlan,
  table: RowTable,
  archives: Set<string>,
  hooks: CleanHooks,
): Promise<RowCounts> {
  const total = await cleaner.countOldRows(table, plan.before);
  if (total > 0) await ensureArchives(cleaner, plan, [table], archives);
  const batch = (after: number) => cleaner.cleanRowBatch(table, { ...plan, after, limit: plan.batchSize });
  return inBatches(batch, table, total, hooks);
}

/** Archive tables are made before the first batch: DDL inside a batch would commit it on MySQL. */
async function ensureArchives(
  cleaner: MetadataCleaner,
  plan: CleanPlan,
  tables: readonly CleanableTable[],
  archives: Set<string>,
): Promise<void> {
  if (!plan.archive || plan.dryRun) return;
  for (const table of tables) {
    await cleaner.ensureArchive(table);
    archives.add(archiveTableName(table));
  }
}

/** Batch after batch until one finds nothing; the counts summed. */
async function inBatches(
  batch: (after: number) => Promise<{ lastId: number | null; processed: number; counts: RowCounts }>,
  table: CleanableTable,
  total: number,
  hooks: CleanHooks,
): Promise<RowCounts> {
  const counts: RowCounts = {};
  let done = 0;
  for (let after = 0; total > 0;) {
    await hooks.beforeBatch?.();
    if (hooks.signal?.aborted) break;
    const result = await batch(after);
    if (result.lastId === null) break;
    for (const [t, n] of Object.entries(result.counts) as [CleanableTable, number][])
      counts[t] = (counts[t] ?? 0) + n;
    done += result.processed;
    after = result.lastId;
    // The total was counted before the first batch: runs may have finished since.
    if (result.processed > 0) hooks.onProgress?.(table, done, Math.max(total, done));
  }
  // Runs cleared or marked meanwhile are not deleted: the count ends short of the total.
  if (done < total) hooks.onProgress?.(table, done, done);
  return counts;
}

export interface ArchiveTable {
  table: CleanableTable;
  archive: string;
  rows: number;
}

/** The archive tables `db clean` made for `tables` (names as for `db clean`; default: all), with their rows. */
export async function listArchives(database: Database, tables?: readonly string[]): Promise<ArchiveTable[]> {
  const wanted = new Set((tables ?? CLEANABLE_TABLES).map(tableNamed));
  return (await metadataCleaner(database).archives()).filter((a) => wanted.has(a.table));
}

export async function dropArchives(database: Database, archives: readonly ArchiveTable[]): Promise<void> {
  const cleaner = metadataCleaner(database);
  for (const a of archives) await cleaner.dropArchive(a.table);
}
