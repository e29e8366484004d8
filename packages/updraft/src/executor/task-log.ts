/**
 * The task runner's log for one try: the logs module's writer (masking, size cap) on the try's file,
 * gzipped when the try ends.
 */
import { compressFinishedLog, taskLogPath } from "../logs/files.ts";
import type { LogFolder } from "../logs/folder.ts";
import type { Masker } from "../logs/masker.ts";
import { openLogFile, openTaskLogWriter } from "../logs/writer.ts";
import type { TaskInstanceRow } from "../storage/schema.ts";
import type { TaskLog } from "./run-task-instance.ts";

export { taskLogPath };

export interface TaskLogSettings {
  base: string;
  maxBytes: number;
  compress: boolean;
  masker?: Masker;
  echo?: (text: string) => void;
  /** The folder's total cap: writes ask it for room, and the log is not cleaned while open. */
  folder?: LogFolder;
}

export async function openFileTaskLog(settings: TaskLogSettings, ti: TaskInstanceRow): Promise<TaskLog> {
  const path = taskLogPath(settings.base, ti);
  const folder = settings.folder;
  folder?.opened(path);
  let file: { fd: number; size: number } | undefined;
  try {
    file = await openLogFile(path, folder);
  } catch (error) {
    folder?.closed(path);
    throw error;
  }
  const writer = openTaskLogWriter(path, {
    maxBytes: settings.maxBytes,
    masker: settings.masker,
    echo: settings.echo,
    budget: folder,
    file,
  });
  return {
    write: (chunk, stream) => writer.write(chunk, stream),
    async close() {
      try {
        await writer.close();
        if (settings.compress) await compressFinishedLog(path, folder);
      } finally {
        folder?.closed(path);
      }
    },
  };
}
