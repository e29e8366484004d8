/**
 * Reads off the main thread (ADR S14). SQLite's connection is synchronous: on the main thread, a
 * slow list (a sort over a million task instances) stops every other request and, in `standalone`,
 * the scheduler. The API's plain SELECTs outside a transaction go to reader threads, each with its
 * own connection; writes and everything inside a transaction stay on the main connection, in turn.
 * The threads start with the first such read.
 */
import { Worker } from "node:worker_threads";
import type { ReadAnswer, ReadRequest } from "./reader-worker.ts";

const WORKER_URL = new URL(
  `./reader-worker${import.meta.url.endsWith(".ts") ? ".ts" : ".js"}`,
  import.meta.url,
);

interface Reader {
  worker: Worker;
  pending: Map<number, { resolve: (rows: unknown[]) => void; reject: (error: Error) => void }>;
}

export class SqliteReaders {
  readonly #path: string;
  readonly #size: number;
  readonly #readers: Reader[] = [];
  #next = 0;
  #closed = false;

  constructor(path: string, size: number) {
    this.#path = path;
    this.#size = size;
  }

  /** The rows of a SELECT, read by the least busy reader thread. */
  all(sql: string, params: readonly unknown[]): Promise<unknown[]> {
    if (this.#closed) return Promise.reject(new Error("the database is closed"));
    const reader = this.#pick();
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      // A reader keeps the process alive while it has work (a CLI command awaiting its rows).
      if (reader.pending.size === 0) reader.worker.ref();
      reader.pending.set(id, { resolve, reject });
      reader.worker.postMessage({ id, sql, params: [...params] } satisfies ReadRequest);
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(this.#readers.splice(0).map((r) => r.worker.terminate()));
  }

  #pick(): Reader {
    if (this.#readers.length < this.#size) {
      const idle = this.#readers.find((r) => r.pending.size === 0);
      if (idle) return idle;
      return this.#start();
    }
    return this.#readers.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
  }

  #start(): Reader {
    const worker = new Worker(WORKER_URL, { workerData: { path: this.#path } });
    // A reader waiting for work must not keep the process alive.
    worker.unref();
    const reader: Reader = { worker, pending: new Map() };
    worker.on("message", (answer: ReadAnswer) => {
      const waiting = reader.pending.get(answer.id);
      reader.pending.delete(answer.id);
      if (reader.pending.size === 0) worker.unref();
      if (!waiting) return;
      if ("rows" in answer) waiting.resolve(answer.rows);
      else waiting.reject(Object.assign(new Error(answer.error.message), answer.error));
    });
    const fail = (error: Error) => {
      for (const waiting of reader.pending.values()) waiting.reject(error);
      reader.pending.clear();
      const at = this.#readers.indexOf(reader);
      if (at >= 0) this.#readers.splice(at, 1);
    };
    worker.on("error", fail);
    worker.on("exit", (code) => fail(new Error(`a SQLite reader thread exited (${code})`)));
    this.#readers.push(reader);
    return reader;
  }
}
