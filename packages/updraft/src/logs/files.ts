/**
 * Task log files: Airflow's layout, gzip of finished tries, reading either form. Cleaning (by age,
 * and by the folder's total disk use) is folder.ts.
 */
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  createReadStream,
  createWriteStream,
  readFileSync,
  renameSync,
  rmSync,
} from "node:fs";
import { isAbsolute, join, relative, sep } from "node:path";
import { UpdraftError } from "../core/errors.ts";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { stat } from "node:fs/promises";
import { gunzipSync, createGzip } from "node:zlib";
import { BLOCK, blocksOf, type DiskBudget } from "./folder.ts";

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

/**
 * Gzips a finished try's log to <path>.gz (through a temporary file, so a crash leaves no half file).
 * With the folder's budget, the temporary file asks for its blocks as it grows; without room the
 * compression stops and the log stays as it is. What compression saves is given back. A log of one
 * disk block or less stays as it is: gzipped it would take the same block, and compressing it cost
 * more than the rest of a short task's bookkeeping (readers take either form).
 */
export async function compressFinishedLog(
  path: string,
  budget?: DiskBudget,
  o: { minBytes?: number } = {},
): Promise<void> {
  let bytes: number;
  try {
    bytes = (await stat(path)).size;
  } catch {
    return;
  }
  if (bytes <= (o.minBytes ?? BLOCK)) return;
  const before = blocksOf(bytes);
  const tmp = `${path}.gz.tmp`;
  let taken = 0;
  let size = 0;
  const account = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      const grow = blocksOf(size + chunk.length) - blocksOf(size);
      if (budget && !budget.take(grow)) return done(new Error("no room in the logs folder to compress"));
      taken += grow;
      size += chunk.length;
      done(null, chunk);
    },
  });
  try {
    await pipeline(createReadStream(path), createGzip(), account, createWriteStream(tmp, { mode: 0o600 }));
  } catch (error) {
    rmSync(tmp, { force: true });
    budget?.give(taken);
    if (budget && /no room/.test((error as Error).message)) return;
    throw error;
  }
  renameSync(tmp, `${path}.gz`);
  rmSync(path, { force: true });
  budget?.give(before);
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
