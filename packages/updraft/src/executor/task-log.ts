/**
 * The task runner's log for one try: the logs module's writer (masking, size cap) on the try's file,
 * gzipped when the try ends.
 */
import { compressFinishedLog, taskLogPath } from "../logs/files.ts";
import type { Masker } from "../logs/masker.ts";
import { openTaskLogWriter } from "../logs/writer.ts";
import type { TaskInstanceRow } from "../storage/schema.ts";
import type { TaskLog } from "./run-task-instance.ts";

export { taskLogPath };

export interface TaskLogSettings {
  base: string;
  maxBytes: number;
  compress: boolean;
  masker?: Masker;
  echo?: (text: string) => void;
}

export function openFileTaskLog(settings: TaskLogSettings, ti: TaskInstanceRow): TaskLog {
  const path = taskLogPath(settings.base, ti);
  const writer = openTaskLogWriter(path, {
    maxBytes: settings.maxBytes,
    masker: settings.masker,
    echo: settings.echo,
  });
  return {
    write: (chunk, stream) => writer.write(chunk, stream),
    async close() {
      await writer.close();
      if (settings.compress) await compressFinishedLog(path);
    },
  };
}
