/**
 * WAL checkpoints off the event loop. SQLite's automatic checkpoint runs inside whichever commit
 * fills the WAL past 1,000 pages, and fsyncs the database file there: measured on the scheduler's
 * hot path, a single-row update took 0.06 ms at the median but up to 87 ms, and the slow ones were
 * half of all the time spent writing. A busy connection instead hands checkpoints to a worker thread
 * with its own connection; PASSIVE checkpoints never block writers, and durability is unchanged (the
 * WAL is the record until it is copied back, and is recovered on the next open after a crash).
 */
import { Worker } from "node:worker_threads";
import type { DatabaseSync } from "node:sqlite";

/** Writes on a connection before it gets a checkpointer: short-lived connections never start one. */
const WRITES_BEFORE_START = 500;
const EVERY_MS = 250;

const SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const { DatabaseSync } = require("node:sqlite");
const db = new DatabaseSync(workerData.path);
db.exec("PRAGMA busy_timeout = 1000");
const checkpoint = () => { try { db.exec("PRAGMA wal_checkpoint(PASSIVE)"); } catch {} };
const timer = setInterval(checkpoint, workerData.everyMs);
parentPort.on("message", () => { clearInterval(timer); checkpoint(); db.close(); process.exit(0); });
parentPort.postMessage("ready");
`;

export interface Checkpointer {
  /** Call after each write: starts the worker once the connection is busy. */
  wrote(): void;
  stop(): Promise<void>;
}

export function walCheckpointer(db: DatabaseSync, path: string): Checkpointer {
  let writes = 0;
  let worker: Worker | null = null;
  let exited: Promise<void> = Promise.resolve();
  // While the worker is not running (not started, failed, stopped), SQLite checkpoints as usual. These
  // run in event handlers, where a throw would end the process: a failed pragma only costs speed.
  const autocheckpoint = (pages: number) => {
    try {
      if (db.isOpen) db.exec(`PRAGMA wal_autocheckpoint = ${pages}`);
    } catch {
      // the connection keeps its previous setting
    }
  };
  return {
    wrote() {
      if (worker || ++writes < WRITES_BEFORE_START || path === ":memory:") return;
      const w = new Worker(SOURCE, { eval: true, workerData: { path, everyMs: EVERY_MS } });
      worker = w;
      w.unref();
      w.once("message", () => autocheckpoint(0));
      // A worker that failed (its database file unreadable, say) has exited: stop() must not wait for it.
      w.on("error", () => undefined);
      exited = new Promise((resolve) => w.once("exit", () => resolve()));
      void exited.then(() => autocheckpoint(1000));
    },
    async stop() {
      if (!worker) return;
      worker.ref(); // closing waits for the last checkpoint
      worker.postMessage("stop");
      await exited;
    },
  };
}
