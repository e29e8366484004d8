/**
 * Runs task instances on this machine, at most `parallelism` at once. It holds only a small record
 * per running task (the work happens in child processes), so the scheduler's memory stays flat
 * however many tasks run.
 */
import type { ClaimedTaskInstance } from "../storage/sql/claim-task-instances.ts";
import type { TaskInstanceKey } from "../storage/task-instances.ts";
import { keyString, type Executor, type ExecutableTry } from "./executor.ts";

/** The abort reason of tries stopped because their scheduler shuts down: they are handed over. */
export const SHUTDOWN = "shutdown";

/** Runs a try; calls `recorded` as soon as its result is in the database (its log may still be closing). */
export type RunTaskInstance = (ti: ExecutableTry, signal: AbortSignal, recorded: () => void) => Promise<void>;

interface Running {
  ti: ClaimedTaskInstance;
  controller: AbortController;
  done: Promise<void>;
}

export class LocalExecutor implements Executor {
  readonly name = "LocalExecutor";
  readonly #parallelism: number;
  readonly #run: RunTaskInstance;
  readonly #running = new Map<string, Running>();
  /** Every try not ended yet, those whose result is recorded and whose log is closing included. */
  readonly #unfinished = new Set<Promise<void>>();
  readonly #listeners: ((ti: ClaimedTaskInstance) => void)[] = [];
  readonly #onError: (error: unknown, ti: ClaimedTaskInstance) => void;

  constructor(options: {
    parallelism: number;
    run: RunTaskInstance;
    onError: (error: unknown, ti: ClaimedTaskInstance) => void;
  }) {
    this.#parallelism = options.parallelism;
    this.#run = options.run;
    this.#onError = options.onError;
  }

  freeSlots(): number {
    return Math.max(0, this.#parallelism - this.#running.size);
  }

  execute(ti: ExecutableTry): void {
    const key = keyString(ti);
    if (this.#running.has(key)) return;
    const controller = new AbortController();
    let ended = false;
    // Its slot is free, and the scheduler told, once the result is recorded: the next task does not
    // wait for this one's log to close.
    const end = () => {
      if (ended) return;
      ended = true;
      this.#running.delete(key);
      for (const listener of this.#listeners) listener(ti);
    };
    const done: Promise<void> = this.#run(ti, controller.signal, end)
      .catch((error) => this.#onError(error, ti))
      .finally(() => {
        end();
        this.#unfinished.delete(done);
      });
    this.#unfinished.add(done);
    this.#running.set(key, { ti, controller, done });
  }

  onFinished(listener: (ti: ClaimedTaskInstance) => void): void {
    this.#listeners.push(listener);
  }

  running(): TaskInstanceKey[] {
    return [...this.#running.values()].map((r) => r.ti);
  }

  cancel(key: TaskInstanceKey): boolean {
    const entry = this.#running.get(keyString(key));
    entry?.controller.abort();
    return entry !== undefined;
  }

  async stop(graceMs: number): Promise<void> {
    const all = Promise.all([...this.#unfinished]);
    const timer = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), graceMs).unref());
    if ((await Promise.race([all, timer])) === "timeout") {
      for (const r of this.#running.values()) r.controller.abort(SHUTDOWN);
      await all;
    }
  }
}
