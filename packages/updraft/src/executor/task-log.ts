/**
 * The task runner's log for one try: the logs module's writer (masking, size cap) on the try's file,
 * gzipped when the try ends.
 *
 * The file is opened after the try has started, not before: what the try writes in its first
 * moments is held in memory, and the file is made and written when the held text passes
 * HOLD_BYTES, when HOLD_MS have passed, or when the try ends. A short task's log is then written
 * whole once its result is recorded (its folders made, the file created with its text), nothing of
 * it on the way to its start
 * (making its folders and opening the file took a third of a no-op task's time in the scheduler).
 * What is held is lost if the process is killed within HOLD_MS of the try's start; the try itself
 * is rescued as always.
 */
import { compressFinishedLog, taskLogPath } from "../logs/files.ts";
import type { Masker } from "../logs/masker.ts";
import { BLOCK, type LogFolder } from "../logs/folder.ts";
import {
  openLogFile,
  openTaskLogWriter,
  writeWholeLog,
  type LogStream,
  type TaskLogWriter,
} from "../logs/writer.ts";
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
  /** Each line with its time and stream (logs/writer.ts WriterOptions.stamp). */
  stamp?: boolean;
}

/** How long a try's first output is held before its file is made. */
export const HOLD_MS = 200;
/** How much of it is held at most. */
export const HOLD_BYTES = 16 * 1024;

export function openFileTaskLog(settings: TaskLogSettings, ti: TaskInstanceRow): TaskLog {
  const path = taskLogPath(settings.base, ti);
  const folder = settings.folder;
  folder?.opened(path);
  let held: [string | Buffer, LogStream][] = [];
  let heldBytes = 0;
  let writer: TaskLogWriter | undefined;
  let opening: Promise<void> | undefined;
  // A file that could not be opened: what the try writes is dropped, and close() says why.
  let failure: unknown;
  const open = () =>
    (opening ??= openLogFile(path, folder).then(
      (file) => {
        writer = openTaskLogWriter(path, {
          maxBytes: settings.maxBytes,
          masker: settings.masker,
          echo: settings.echo,
          budget: folder,
          file,
          stamp: settings.stamp,
        });
        for (const [chunk, stream] of held) writer.write(chunk, stream);
        held = [];
      },
      (error: unknown) => {
        failure = error;
        held = [];
      },
    ));
  const timer = setTimeout(() => void open(), HOLD_MS);
  timer.unref();
  return {
    write(chunk, stream) {
      if (writer) return writer.write(chunk, stream);
      if (failure !== undefined) return;
      held.push([chunk, stream]);
      heldBytes += chunk.length;
      if (heldBytes > HOLD_BYTES) void open();
    },
    async close() {
      clearTimeout(timer);
      try {
        if (!opening) {
          // Ended within the hold: the whole log in one write.
          const options = {
            maxBytes: settings.maxBytes,
            masker: settings.masker,
            echo: settings.echo,
            budget: folder,
            stamp: settings.stamp,
          };
          const bytes = await writeWholeLog(path, held, options);
          if (bytes !== undefined) {
            held = [];
            if (settings.compress && bytes > BLOCK) await compressFinishedLog(path, folder);
            return;
          }
        }
        await open();
        if (!writer) throw failure;
        await writer.close();
        if (settings.compress) await compressFinishedLog(path, folder);
      } finally {
        folder?.closed(path);
      }
    },
  };
}
