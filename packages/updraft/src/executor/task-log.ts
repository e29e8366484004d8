/**
 * Task log files in Airflow's layout: dag_id=<dag>/run_id=<run>/task_id=<task>/attempt=<try>.log under
 * [logging] base_log_folder, appended live. (Size caps, masking, compression and retention belong to
 * the logs module; this is the plain writer the runner uses.)
 */
import { appendFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import type { TaskInstanceRow } from "../storage/schema.ts";
import type { TaskLog } from "./run-task-instance.ts";

/** Ids stay readable (run ids keep their ':' and '+'), but '/', '%' and a bare '..' cannot escape the folder. */
const safe = (s: string) =>
  s
    .replace(/%/g, "%25")
    .replace(/\//g, "%2F")
    .replace(/\\/g, "%5C")
    .replace(/^\.+$/, (dots) => dots.replace(/\./g, "%2E"));

export function taskLogPath(
  base: string,
  ti: Pick<TaskInstanceRow, "dag_id" | "run_id" | "task_id" | "map_index" | "try_number">,
): string {
  const parts = [`dag_id=${safe(ti.dag_id)}`, `run_id=${safe(ti.run_id)}`, `task_id=${safe(ti.task_id)}`];
  if (ti.map_index >= 0) parts.push(`map_index=${ti.map_index}`);
  return join(base, ...parts, `attempt=${ti.try_number}.log`);
}

export function openFileTaskLog(base: string, ti: TaskInstanceRow): TaskLog {
  const path = taskLogPath(base, ti);
  mkdirSync(dirname(path), { recursive: true });
  return {
    write(chunk, stream) {
      const text = chunk.toString();
      appendFileSync(path, stream === "runner" ? `[${new Date().toISOString()}] {updraft} ${text}` : text);
    },
    close: async () => undefined,
  };
}
