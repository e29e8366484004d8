/**
 * Task log files: Airflow's layout, gzip of finished tries, reading either form, and cleaning by age
 * and by total size so logs never fill the disk.
 */
import {
  createReadStream,
  createWriteStream,
  existsSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  rmdirSync,
  statSync,
} from "node:fs";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { gunzipSync, createGzip } from "node:zlib";

export interface TryKey {
  dag_id: string;
  run_id: string;
  task_id: string;
  map_index: number;
  try_number: number;
}

/** Ids stay readable (run ids keep ':' and '+'); '/', '\\', '%' and a bare '..' cannot escape the folder. */
const safe = (s: string) =>
  s
    .replace(/%/g, "%25")
    .replace(/\//g, "%2F")
    .replace(/\\/g, "%5C")
    .replace(/^\.+$/, (dots) => dots.replace(/\./g, "%2E"));

/** dag_id=<dag>/run_id=<run>/task_id=<task>/[map_index=<i>/]attempt=<try>.log */
export function taskLogPath(base: string, ti: TryKey): string {
  const parts = [`dag_id=${safe(ti.dag_id)}`, `run_id=${safe(ti.run_id)}`, `task_id=${safe(ti.task_id)}`];
  if (ti.map_index >= 0) parts.push(`map_index=${ti.map_index}`);
  return join(base, ...parts, `attempt=${ti.try_number}.log`);
}

/** Gzips a finished try's log to <path>.gz (through a temporary file, so a crash leaves no half file). */
export async function compressFinishedLog(path: string): Promise<void> {
  if (!existsSync(path)) return;
  const tmp = `${path}.gz.tmp`;
  await pipeline(createReadStream(path), createGzip(), createWriteStream(tmp));
  renameSync(tmp, `${path}.gz`);
  rmSync(path, { force: true });
}

/** The log's text from <path> or <path>.gz; undefined when neither exists. */
export function readTaskLog(path: string): string | undefined {
  if (existsSync(path)) return readFileSync(path, "utf8");
  if (existsSync(`${path}.gz`)) return gunzipSync(readFileSync(`${path}.gz`)).toString("utf8");
  return undefined;
}

export interface CleanOptions {
  /** Files older than this go. */
  retentionDays: number;
  /** Past this total, the oldest files go too (0 = no cap). */
  maxTotalBytes: number;
  now?: number;
  dryRun?: boolean;
}

export interface CleanResult {
  filesDeleted: number;
  bytesFreed: number;
  filesKept: number;
  bytesKept: number;
}

export function cleanLogs(
  base: string,
  o: CleanOptions,
  onProgress?: (done: number, total: number) => void,
): CleanResult {
  const now = o.now ?? Date.now();
  const files = listFiles(base).sort((a, b) => a.mtime - b.mtime);
  const cutoff = now - o.retentionDays * 86_400_000;
  let total = files.reduce((n, f) => n + f.size, 0);
  const result: CleanResult = { filesDeleted: 0, bytesFreed: 0, filesKept: 0, bytesKept: 0 };
  for (const [i, f] of files.entries()) {
    const tooOld = f.mtime < cutoff;
    const overCap = o.maxTotalBytes > 0 && total > o.maxTotalBytes;
    if (tooOld || overCap) {
      if (!o.dryRun) rmSync(f.path, { force: true });
      result.filesDeleted++;
      result.bytesFreed += f.size;
      total -= f.size;
    } else {
      result.filesKept++;
      result.bytesKept += f.size;
    }
    onProgress?.(i + 1, files.length);
  }
  if (!o.dryRun) removeEmptyDirs(base, base);
  return result;
}

function listFiles(dir: string): { path: string; size: number; mtime: number }[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return listFiles(path);
    if (!e.isFile() || !/\.log(\.gz)?$/.test(e.name)) return [];
    const st = statSync(path);
    return [{ path, size: st.size, mtime: st.mtimeMs }];
  });
}

function removeEmptyDirs(dir: string, base: string): boolean {
  let empty = true;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (!e.isDirectory() || !removeEmptyDirs(join(dir, e.name), base)) empty = false;
  }
  if (empty && dir !== base) rmdirSync(dir);
  return empty;
}
