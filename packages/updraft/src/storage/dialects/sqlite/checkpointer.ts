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
  // While the worker is not running (not started, failed, stopped), SQLite checkpoints as usual.
  const automatic = () => db.isOpen && db.exec("PRAGMA wal_autocheckpoint = 1000");
  return {
    wrote() {
      if (worker || ++writes < WRITES_BEFORE_START || path === ":memory:") return;
      worker = new Worker(SOURCE, { eval: true, workerData: { path, everyMs: EVERY_MS } });
      worker.unref();
      worker.once("message", () => db.isOpen && db.exec("PRAGMA wal_autocheckpoint = 0"));
      worker.once("error", automatic);
      worker.once("exit", automatic);
    },
    async stop() {
      if (!worker) return;
      const exited = new Promise((resolve) => worker!.once("exit", resolve));
      worker.ref(); // closing waits for the last checkpoint
      worker.postMessage("stop");
      await exited;
    },
  };
}
