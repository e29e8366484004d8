/**
 * The writer of one try's log: appended live, secrets masked (by whole lines, so a secret split
 * across two chunks is still caught), capped in size: past the cap one marker line says so and the
 * rest is discarded while the task keeps running.
 */
import { appendFileSync, closeSync, mkdirSync, openSync, writeSync } from "node:fs";
import { dirname } from "node:path";
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
}

const MiB = 1024 * 1024;

export function openTaskLogWriter(path: string, o: WriterOptions): TaskLogWriter {
  // Logs may hold what a task printed: readable by the service user only (the API serves them).
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const masker = o.masker ?? new Masker();
  const pending: Record<LogStream, string> = { stdout: "", stderr: "", runner: "" };
  let written = 0;
  let discarded = 0;
  let cut = false;
  // One descriptor for the try, opened on the first write (appending, as before; the file exists only
  // once something is written), instead of an open and a close for every piece.
  // A piece written after close() is appended on its own, as before.
  let fd: number | undefined;
  let closed = false;
  const append = (text: string) => {
    if (closed) return appendFileSync(path, text, { mode: 0o600 });
    fd ??= openSync(path, "a", 0o600);
    const bytes = Buffer.from(text);
    for (let at = 0; at < bytes.length;) at += writeSync(fd, bytes, at);
  };
  const emit = (text: string) => {
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
      );
      return;
    }
    written += bytes;
    append(text);
    o.echo?.(text);
  };
  const stamp = () => new Date((o.clock ?? Date.now)()).toISOString();
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
      if (lines)
        emit(masker.mask(stream === "runner" ? lines.replace(/^(?=.)/gm, `[${stamp()}] {updraft} `) : lines));
    },
    async close() {
      for (const stream of ["stdout", "stderr", "runner"] as const)
        if (pending[stream]) emit(masker.mask(pending[stream] + "\n"));
      closed = true;
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
      return { bytesWritten: written, bytesDiscarded: discarded };
    },
  };
}
