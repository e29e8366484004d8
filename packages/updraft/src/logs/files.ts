/**
 * Task log files: Airflow's layout, gzip of finished tries, reading either form, and cleaning by age
 * and by total size so logs never fill the disk.
 */
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
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
import { isAbsolute, join, relative, sep } from "node:path";
import { UpdraftError } from "../core/errors.ts";
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
  await pipeline(createReadStream(path), createGzip(), createWriteStream(tmp, { mode: 0o600 }));
  renameSync(tmp, `${path}.gz`);
  rmSync(path, { force: true });
}

/**
 * The log's text from <path> or <path>.gz; undefined when neither exists. With `base` (the logs
 * folder; the API reads this way) no symbolic link is followed between the folder and the file, so a
 * link planted in the logs folder cannot serve a file from elsewhere (updraft.toml, say): that is a
 * LOG_REFUSED error.
 */
export function readTaskLog(path: string, base?: string): string | undefined {
  const read = (file: string) => (base === undefined ? readFileSync(file) : readWithin(base, file));
  for (const [file, gzipped] of [
    [path, false],
    [`${path}.gz`, true],
  ] as const) {
    let bytes: Buffer;
    try {
      bytes = read(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw error;
    }
    return gzipped ? gunzipSync(bytes).toString("utf8") : bytes.toString("utf8");
  }
  return undefined;
}

function readWithin(base: string, file: string): Buffer {
  const inside = relative(base, file);
  if (inside.startsWith("..") || isAbsolute(inside)) throw refused(file, "it is outside the logs folder");
  let at = base;
  for (const part of inside.split(sep).slice(0, -1)) {
    at = join(at, part);
    if (lstatSync(at).isSymbolicLink()) throw refused(file, `${at} is a symbolic link`);
  }
  // O_NOFOLLOW: the file itself must not be a link either (checked by the kernel, no race).
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ELOOP") throw refused(file, "it is a symbolic link");
    throw error;
  }
  try {
    if (!fstatSync(fd).isFile()) throw refused(file, "it is not a regular file");
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

const refused = (file: string, why: string) =>
  new UpdraftError("LOG_REFUSED", `The log ${file} is not served: ${why}`);

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
