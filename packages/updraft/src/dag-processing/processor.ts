/**
 * The DAG processor: finds DAG files, loads the changed ones in child processes, and stores what
 * they define (serialized DAGs, or import errors). Unchanged files are not loaded again; DAGs whose
 * file is gone become inactive. One call is one pass; services call it on an interval.
 */
import type { Config } from "../config/load.ts";
import type { SerializeDefaults } from "../sdk/index.ts";
import type { Database } from "../storage/database.ts";
import { dagStore } from "../storage/dags.ts";
import { discoverDagFiles, EXAMPLES_PREFIX, type DagFile } from "./discover.ts";
import { splitByModuleScope } from "./module-scope.ts";
import { parseFiles } from "./parser-pool.ts";
import type { ParseReply } from "./protocol.ts";
import { typeCheckInChild } from "./type-check-child.ts";
import { formatTypeDiagnostic } from "./type-diagnostics.ts";

export interface ProcessOptions {
  /** Load every file even when unchanged (`dags reserialize`). */
  force?: boolean;
  onProgress?: (progress: {
    done: number;
    total: number;
    fileloc: string;
    dags: number;
    errors: number;
  }) => void;
}

export interface ProcessSummary {
  files: number;
  parsed: number;
  unchanged: number;
  dags: number;
  importErrors: number;
  deactivated: string[];
  durationMs: number;
}

export function serializeDefaults(config: Config): SerializeDefaults {
  const core = config.values.core;
  return {
    timezone: core.default_timezone,
    owner: core.default_owner,
    pool: "default_pool",
    queue: "default",
    retries: core.default_task_retries,
    retryDelay: core.default_task_retry_delay,
    maxActiveRuns: core.max_active_runs_per_dag,
    maxActiveTasks: core.max_active_tasks_per_dag,
    maxConsecutiveFailedDagRuns: core.max_consecutive_failed_dag_runs_per_dag,
    catchup: core.catchup_by_default,
    createCronDataIntervals: config.values.scheduler.create_cron_data_intervals,
    createDeltaDataIntervals: config.values.scheduler.create_delta_data_intervals,
  };
}

export async function processDagFiles(
  config: Config,
  database: Database,
  options: ProcessOptions = {},
): Promise<ProcessSummary> {
  const started = performance.now();
  const { core, dag_processor: processor } = config.values;
  const store = dagStore(database);
  const discovered = discoverDagFiles({
    dagsFolder: core.dags_folder,
    includeExamples: core.load_examples,
    safeMode: core.dag_discovery_safe_mode,
  });
  const { loadable: files, commonJs } = splitByModuleScope(discovered, core.dags_folder);
  const known = options.force ? new Map<string, string>() : await store.fileHashes();
  const changed = files.filter((f) => known.get(f.fileloc) !== f.contentHash);
  const summary: ProcessSummary = {
    files: discovered.length,
    parsed: changed.length,
    unchanged: files.length - changed.length,
    dags: 0,
    importErrors: 0,
    deactivated: [],
    durationMs: 0,
  };
  for (const scope of commonJs) {
    if (known.get(scope.fileloc) === scope.contentHash) continue;
    summary.importErrors += 1;
    const error = { message: scope.message, stacktrace: null };
    const file = {
      fileloc: scope.fileloc,
      contentHash: scope.contentHash,
      durationMs: 0,
      dags: [],
      errors: [error],
    };
    await store.syncFile(file, { pausedAtCreation: core.dags_are_paused_at_creation });
  }
  let done = 0;
  const record = async (file: DagFile, reply: ParseReply, contentHash = file.contentHash) => {
    const result = await store.syncFile(
      {
        fileloc: file.fileloc,
        contentHash,
        source: file.source,
        durationMs: reply.durationMs,
        dags: reply.dags,
        errors: reply.errors,
      },
      { pausedAtCreation: core.dags_are_paused_at_creation },
    );
    summary.dags += result.stored.length;
    summary.importErrors += result.errors;
    options.onProgress?.({
      done: ++done,
      total: changed.length,
      fileloc: file.fileloc,
      dags: result.stored.length,
      errors: result.errors,
    });
  };
  const rejected = processor.type_check ? await typeErrors(config, changed) : new Map<DagFile, Rejection>();
  for (const [file, { reply, retry }] of rejected) await record(file, reply, retry ? "" : file.contentHash);
  await parseFiles(
    changed.filter((f) => !rejected.has(f)),
    {
      processes: processor.parsing_processes,
      timeoutMs: core.dagbag_import_timeout * 1000,
      maxMemoryMb: processor.max_memory_mb,
      filesPerProcess: processor.files_per_process,
      defaults: serializeDefaults(config),
    },
    (file, reply) => record(file, reply),
  );
  // With examples off, their DAGs count as gone too.
  // Files kept from loading by a CommonJS package.json keep their DAGs: nothing stored is lost.
  const present = [...discovered.map((f) => f.fileloc), ...commonJs.map((s) => s.fileloc)];
  summary.deactivated = await store.deactivateMissingFiles(present);
  summary.durationMs = performance.now() - started;
  return summary;
}

interface Rejection {
  reply: ParseReply;
  /** Stored without its hash, so the next pass takes the file again. */
  retry: boolean;
}

/**
 * The changed files that must not be loaded, with the import error each gets: its type errors, or,
 * when the check itself failed, the reason (with an empty hash, so the next pass checks it again).
 */
async function typeErrors(config: Config, changed: DagFile[]): Promise<Map<DagFile, Rejection>> {
  const dagsFolder = config.values.core.dags_folder;
  // The bundled examples are checked by Updraft's own build, against its own tsconfig.
  const files = changed.filter((f) => !f.fileloc.startsWith(EXAMPLES_PREFIX) && /\.[mc]?ts$/.test(f.path));
  const rejected = new Map<DagFile, Rejection>();
  if (files.length === 0) return rejected;
  const timeout = config.values.dag_processor.type_check_timeout;
  const outcome = await typeCheckInChild(
    { files: files.map((f) => f.path), projectDir: dagsFolder },
    timeout * 1000,
  );
  if (!outcome.ok) {
    const message = `${outcome.reason} ([dag_processor] type_check_timeout = ${timeout}); the file is checked again on the next pass, or turn [dag_processor] type_check off`;
    for (const file of files) rejected.set(file, { reply: importError(message, null), retry: true });
    return rejected;
  }
  for (const file of files) {
    const own = outcome.result.diagnostics.filter((d) => d.path === file.path);
    if (own.length === 0) continue;
    const lines = own.map((d) => formatTypeDiagnostic(d, dagsFolder)).join("\n");
    const count = `${own.length} type error${own.length === 1 ? "" : "s"}`;
    rejected.set(file, {
      reply: importError(`${count} ([dag_processor] type_check):\n${lines}`, lines),
      retry: false,
    });
  }
  return rejected;
}

function importError(message: string, stacktrace: string | null): ParseReply {
  return { id: -1, dags: [], errors: [{ message, stacktrace }], durationMs: 0 };
}
