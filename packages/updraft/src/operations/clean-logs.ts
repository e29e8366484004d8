/**
 * The task logs folder of this installation, held under its cap: the scheduler service's (which
 * cleans as logs are written, at start and every clean_interval_hours) and `updraft logs clean`'s.
 * Both keep the logs of tries running anywhere, as the database tells.
 */
import type { Config } from "../config/load.ts";
import { taskLogPath } from "../logs/files.ts";
import { LogFolder, type CleanResult } from "../logs/folder.ts";
import type { Database } from "../storage/database.ts";

/** States in which a try may still be writing its log. */
const WRITING_STATES = ["queued", "running", "restarting", "deferred", "up_for_reschedule"];

export function openLogFolder(
  config: Config,
  database: Database | undefined,
  onClean?: (result: CleanResult, error?: unknown) => void,
): LogFolder {
  const logging = config.values.logging;
  return new LogFolder({
    base: logging.base_log_folder,
    retentionDays: logging.retention_days,
    maxTotalBytes: logging.max_total_bytes,
    // Without the database, which tries run is unknown: a clean then counts and deletes nothing.
    liveLogs: database
      ? () => liveTryLogs(database, logging.base_log_folder)
      : () => Promise.reject(new Error("no database to ask which tries are running")),
    onClean,
  });
}

/** The log files of tries that may still be writing (their current try, and the next one queued). */
export async function liveTryLogs(database: Database, base: string): Promise<string[]> {
  const rows = await database.db
    .selectFrom("task_instance")
    .select(["dag_id", "run_id", "task_id", "map_index", "try_number"])
    .where("state", "in", WRITING_STATES)
    .execute();
  return rows.flatMap((ti) =>
    [ti.try_number, ti.try_number + 1].map((try_number) => taskLogPath(base, { ...ti, try_number })),
  );
}
