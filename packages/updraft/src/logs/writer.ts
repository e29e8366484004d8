/**
 * The writer of one try's log: appended live, secrets masked (by whole lines, so a secret split
 * across two chunks is still caught), capped in size: past the cap one marker line says so and the
 * rest is discarded while the task keeps running. With a disk budget (the logs folder's total cap),
 * every piece first asks the folder for the blocks it adds; a piece the folder has no room for is
 * discarded, counted, and said at the end.
 */
import { appendFileSync, close, mkdirSync, open as openRaw, openSync, statSync, writeSync } from "node:fs";
import {
  mkdir as mkdirAsync,
  rmdir as rmdirAsync,
  stat as statAsync,
  writeFile as writeFileAsync,
} from "node:fs/promises";
import { dirname } from "node:path";
import { BLOCK, blocksOf, type DiskBudget } from "./folder.ts";
import { Masker } from "./masker.ts";

export type LogStream = "stdout" | "stderr" | "runner";

export interface TaskLogWriter {
  write(chunk: string | Buffer, stream: LogStream): void;
  close(): Promise<{ bytesWritten: number; bytesDiscarded: number }>;
}

export interface WriterOptions {
  maxBytes: number;
  /** Also hands every masked piece written to the file here (`dags test` prints it). */
  echo?: (text: string) => void;
  masker?: Masker;
  clock?: () => number;
  /** The logs folder's total cap; without it only the per-try cap applies. */
  budget?: DiskBudget;
  /** The file, already open for appending (`openLogFile`), and its size: no file call on the first write. */
  file?: { fd: number; size: number };
  /**
   * Instead of a file: every masked, capped piece goes here (`writeWholeLog`), counted against the
   * budget as the start of a new file.
   */
  sink?: (bytes: Buffer) => void;
  /**
   * Every line of the task's output written as `[<ISO time>] {stdout|stderr} text` (the runner's
   * own lines are always `[<time>] {updraft} text`), so the log tells when each line came and which
   * stream it came on; what is echoed stays the bare text. Files written without it (before it
   * existed) are read as they are: lines without a time (routes/task-logs.ts).
   */
  stamp?: boolean;
}

const MiB = 1024 * 1024;

export function openTaskLogWriter(path: string, o: WriterOptions): TaskLogWriter {
  const masker = o.masker ?? new Masker();
  const pending: Record<LogStream, string> = { stdout: "", stderr: "", runner: "" };
  let written = 0;
  let discarded = 0;
  let cut = false;
  // Output the logs folder had no room for (its total cap), said once the try ends.
  let refused = 0;
  // The file's size as this writer knows it: the blocks a piece adds are asked for before writing.
  let size: number | undefined = o.sink ? 0 : o.file?.size;
  // One descriptor for the try, opened on the first write (appending, as before; the file exists only
  // once something is written), instead of an open and a close for every piece.
  // A piece written after close() is appended on its own, as before.
  let fd: number | undefined = o.file?.fd;
  let closed = false;
  /** The disk the piece adds: blocks past the file's last one, and the folders the first piece creates. */
  const cost = (bytes: number) => {
    if (size === undefined) {
      size = sizeOf(path);
      if (size === undefined) return missingFolders(path) * BLOCK + blocksOf(bytes);
    }
    return blocksOf(size + bytes) - blocksOf(size);
  };
  /** `marker`: a closing line, which may use the block kept free for it. */
  const append = (text: string, marker = false): boolean => {
    const bytes = Buffer.from(text);
    if (o.budget && !o.budget.take(cost(bytes.length), marker ? 0 : BLOCK)) return false;
    size = (size ?? sizeOf(path) ?? 0) + bytes.length;
    if (o.sink) {
      o.sink(bytes);
      return true;
    }
    if (closed) {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      appendFileSync(path, bytes, { mode: 0o600 });
      return true;
    }
    fd ??= openLog(path);
    for (let at = 0; at < bytes.length;) at += writeSync(fd, bytes, at);
    return true;
  };
  /** `text` goes to the file, `shown` (the bare text, when stamped) to the echo. */
  const emit = (text: string, shown = text) => {
    if (text === "") return;
    const bytes = Buffer.byteLength(text);
    if (cut) {
      discarded += bytes;
      return;
    }
    if (written + bytes > o.maxBytes) {
      cut = true;
      discarded += bytes;
      const limit = o.maxBytes >= MiB ? `${Math.round(o.maxBytes / MiB)} MiB` : `${o.maxBytes} bytes`;
      append(
        `\n*** log cut: the ${limit} limit of [logging] max_bytes_per_try was reached; the task keeps running, further output is discarded ***\n`,
        true,
      );
      return;
    }
    if (!append(text)) {
      discarded += bytes;
      refused += bytes;
      return;
    }
    written += bytes;
    o.echo?.(shown);
  };
  const stamp = () => new Date((o.clock ?? Date.now)()).toISOString();
  /** Whole lines of a stream, masked, with their time and stream when the log is stamped. */
  const output = (lines: string, stream: LogStream) => {
    if (stream === "runner") return emit(masker.mask(lines.replace(/^(?=.)/gm, `[${stamp()}] {updraft} `)));
    const masked = masker.mask(lines);
    if (!o.stamp) return emit(masked);
    emit(masked.replace(/^(?=[^\n]*\n)/gm, `[${stamp()}] {${stream}} `), masked);
  };
  return {
    write(chunk, stream) {
      const text = pending[stream] + chunk.toString();
      const end = text.lastIndexOf("\n") + 1;
      pending[stream] = text.slice(end);
      // An endless line is flushed in pieces (the masker's longest secret is kept back for the next piece).
      if (pending[stream].length > 64 * 1024) {
        const keep = Math.max(masker.longest, 1);
        emit(masker.mask(pending[stream].slice(0, -keep)));
        pending[stream] = pending[stream].slice(-keep);
      }
      const lines = text.slice(0, end);
      if (lines) output(lines, stream);
    },
    async close() {
      for (const stream of ["stdout", "stderr", "runner"] as const)
        if (pending[stream]) output(pending[stream] + "\n", stream);
      if (refused > 0)
        append(
          `\n*** ${refused} bytes of output were discarded: the logs folder was at its [logging] max_total_bytes cap while older logs were cleaned ***\n`,
          true,
        );
      closed = true;
      if (fd !== undefined) await closeFile(fd);
      fd = undefined;
      return { bytesWritten: written, bytesDiscarded: discarded };
    },
  };
}

/**
 * A short try's whole log in one write, once it ended: its pieces through the writer (masked,
 * capped, counted against the budget as a new file), its folders made, its file created with what
 * they hold. Answers the bytes written, or undefined when the file already exists (a note written
 * for this try before it started) or the folder has no room for its folders: the caller then writes
 * the usual way, nothing taken.
 */
export async function writeWholeLog(
  path: string,
  pieces: readonly [string | Buffer, LogStream][],
  o: Omit<WriterOptions, "file" | "sink">,
): Promise<number | undefined> {
  const chunks: Buffer[] = [];
  // Echoed once written: a file that exists already (a try that goes on after a wait) is appended
  // to by the caller's usual way, which echoes as it writes.
  const echoed: string[] = [];
  const echo = o.echo && ((text: string) => void echoed.push(text));
  const writer = openTaskLogWriter(path, { ...o, echo, sink: (bytes) => chunks.push(bytes) });
  for (const [chunk, stream] of pieces) writer.write(chunk, stream);
  await writer.close();
  const text = Buffer.concat(chunks);
  const taken = blocksOf(text.length);
  for (let attempt = 0; ; attempt++) {
    const first = await mkdirAsync(dirname(path), { recursive: true, mode: 0o700 });
    const made = foldersMade(dirname(path), first);
    if (o.budget && !o.budget.take(made * BLOCK)) {
      // No room for its folders: they go again, and the caller takes the usual way (which waits for room).
      // One that another try has begun to use meanwhile is not empty: it stays, as theirs.
      for (let dir = dirname(path), n = 0; n < made; dir = dirname(dir), n++)
        if (
          !(await rmdirAsync(dir).then(
            () => true,
            () => false,
          ))
        )
          break;
      o.budget.give(taken);
      return undefined;
    }
    try {
      await writeFileAsync(path, text, { flag: "wx", mode: 0o600 });
      for (const line of echoed) o.echo?.(line);
      return text.length;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "EEXIST") {
        o.budget?.give(taken);
        return undefined;
      }
      // A clean removed the (empty) folder between the two calls: make it again, once.
      if (code !== "ENOENT" || attempt > 0) {
        o.budget?.give(taken);
        throw error;
      }
    }
  }
}

/**
 * Opens a try's log file for appending before anything is written, its folders made as needed (their
 * blocks taken from `budget` first), all off the event loop: the file calls of a short task's log
 * are most of what the scheduler's thread spends on it, and a busy folder makes them slow. Undefined
 * when the folder has no room for the folders: the writer then tries again with its first piece.
 */
export async function openLogFile(
  path: string,
  budget?: DiskBudget,
): Promise<{ fd: number; size: number } | undefined> {
  let size = 0;
  const missing = await missingFoldersAsync(path);
  if (missing === 0)
    size = await statAsync(path).then(
      (st) => st.size,
      () => 0,
    );
  else if (budget && !budget.take(missing * BLOCK, BLOCK)) return undefined;
  let counted = missing;
  for (let attempt = 0; ; attempt++) {
    try {
      if (attempt > 0 || missing > 0) {
        // What mkdir made is what the disk holds: a clean may have removed a folder since the look
        // above, or another try made one. The budget follows what was made.
        const made = foldersMade(
          dirname(path),
          await mkdirAsync(dirname(path), { recursive: true, mode: 0o700 }),
        );
        if (made > counted) budget?.take((made - counted) * BLOCK);
        else if (made < counted) budget?.give((counted - made) * BLOCK);
        counted = made;
      }
      return { fd: await openAsync(path, "a", 0o600), size };
    } catch (error) {
      // A clean removed the (empty) folder meanwhile: make it again, once.
      if ((error as NodeJS.ErrnoException).code !== "ENOENT" || attempt > 0) throw error;
    }
  }
}

const exists = (dir: string) =>
  statAsync(dir).then(
    () => true,
    () => false,
  );

/** How many folders a recursive mkdir of `dir` made, from the first one it made (or none). */
function foldersMade(dir: string, first: string | undefined): number {
  if (first === undefined) return 0;
  let n = 1;
  for (let d = dir; d !== first && d !== dirname(d); d = dirname(d)) n++;
  return n;
}

async function missingFoldersAsync(path: string): Promise<number> {
  let n = 0;
  for (let dir = dirname(path); dir !== dirname(dir); dir = dirname(dir)) {
    if (await exists(dir)) return n;
    n++;
  }
  return n;
}

/** A raw descriptor (the writer writes with writeSync), opened off the event loop. */
const openAsync = (path: string, flags: string, mode: number) =>
  new Promise<number>((resolve, reject) =>
    openRaw(path, flags, mode, (error, fd) => (error ? reject(error) : resolve(fd))),
  );

const closeFile = (fd: number) =>
  new Promise<void>((resolve, reject) => close(fd, (error) => (error ? reject(error) : resolve())));

/** Logs may hold what a task printed: readable by the service user only (the API serves them). */
function openLog(path: string): number {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  try {
    return openSync(path, "a", 0o600);
  } catch (error) {
    // A clean removed the folder between the two calls (it was empty): make it again.
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    return openSync(path, "a", 0o600);
  }
}

function sizeOf(path: string): number | undefined {
  try {
    return statSync(path).size;
  } catch {
    return undefined;
  }
}

/** How many folders on the way to `path` do not exist yet. */
function missingFolders(path: string): number {
  let n = 0;
  for (let dir = dirname(path); dir !== dirname(dir); dir = dirname(dir)) {
    try {
      statSync(dir);
      return n;
    } catch {
      n++;
    }
  }
  return n;
}
