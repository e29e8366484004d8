/**
 * DAG and deadline callbacks in the triggerer (issue 20): requests written by the schedulers
 * (storage/callbacks.ts) are claimed with a lease, as triggers are, so several triggerers share
 * them and one that dies hands its requests over within a lease; each is run in the callback
 * process (callback-host.ts) and its outcome recorded on its row. A request is run by one triggerer
 * at a time; after a triggerer's crash it runs again elsewhere (at least once).
 */
import type { Logger } from "../logging.ts";
import { callbackStore, type ClaimedCallback } from "../storage/callbacks.ts";
import type { Database } from "../storage/database.ts";
import { nowIso } from "../storage/database.ts";
import { retrying } from "../storage/retry.ts";
import type { CallbackOutcome } from "../sdk/callbacks.ts";
import { callbackTarget } from "./callback-context.ts";
import { CallbackProcess, type Lookup } from "./callback-host.ts";
import type { CallbackEventName } from "./custom-protocol.ts";

export interface CallbackRunnerOptions {
  database: Database;
  log: Logger;
  dagsFolder: string;
  /** The DAG file's absolute path from its stored fileloc. */
  resolveFile: (fileloc: string) => string;
  /** `[core] callback_timeout`, seconds: each callback's limit. */
  timeoutSeconds: number;
  lookup: Lookup;
  memoryMb: number;
  /** Requests run at once. */
  concurrency?: number;
}

/** How long a graceful stop waits for the requests running before handing them back. */
const STOP_WAIT_MS = 5_000;

export class CallbackRunner {
  readonly #o: CallbackRunnerOptions;
  readonly #store: ReturnType<typeof callbackStore>;
  readonly #process: CallbackProcess;
  readonly #running = new Map<number, Promise<void>>();
  #done = 0;

  constructor(o: CallbackRunnerOptions) {
    this.#o = o;
    this.#store = callbackStore(o.database);
    this.#process = new CallbackProcess({
      dagsFolder: o.dagsFolder,
      log: o.log,
      memoryMb: o.memoryMb,
      lookup: o.lookup,
    });
  }

  /** Requests run to the end (either way) by this runner. */
  get done(): number {
    return this.#done;
  }

  get pid(): number | undefined {
    return this.#process.pid;
  }

  /** Claims what it has room for and starts it. */
  async claim(jobId: number, now: number, leaseUntil: number): Promise<void> {
    const room = (this.#o.concurrency ?? 10) - this.#running.size;
    const batch = await this.#store.claim(
      jobId,
      room,
      new Date(now).toISOString(),
      new Date(leaseUntil).toISOString(),
    );
    for (const request of batch) {
      if (this.#running.has(request.id)) continue;
      const run = this.#run(jobId, request).finally(() => this.#running.delete(request.id));
      this.#running.set(request.id, run);
    }
  }

  async renew(jobId: number, leaseUntil: number): Promise<void> {
    await this.#store.renew(jobId, new Date(leaseUntil).toISOString());
  }

  /** Waits a little for the requests running, then hands the others back and stops the process. */
  async stop(jobId: number): Promise<void> {
    const all = Promise.all(this.#running.values());
    await Promise.race([all, new Promise((r) => setTimeout(r, STOP_WAIT_MS).unref())]);
    // Handed back first: a callback stopped with the process then records nothing (another runs it).
    await this.#store.release(jobId).catch(() => 0);
    await this.#process.stop();
  }

  async #run(jobId: number, request: ClaimedCallback): Promise<void> {
    const what = { request: request.id, dagId: request.dag_id, runId: request.run_id, event: request.event };
    this.#o.log.info({ ...what, attempt: request.attempts }, "running callbacks");
    let error: string | null;
    try {
      error = await this.#execute(request);
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
    }
    if (error === null) this.#o.log.info(what, "callbacks succeeded");
    else this.#o.log.warn({ ...what, error }, "callbacks failed (the run's state is unchanged)");
    const outcome = error === null ? { ok: true as const } : { ok: false as const, error };
    const recorded = await retrying(() => this.#store.finish(request.id, jobId, outcome, nowIso()), {
      what: "recording a callback's outcome",
      maxMs: 60_000,
    }).catch(() => false);
    if (!recorded)
      this.#o.log.warn(what, "callback request no longer held here (taken over after the lease lapsed)");
    this.#done++;
  }

  /** Runs the request's callbacks; null when all succeeded, else what went wrong. */
  async #execute(request: ClaimedCallback): Promise<string | null> {
    const target = await callbackTarget(this.#o.database, request);
    if ("error" in target) return target.error;
    const outcomes = await this.#process.run({
      id: request.id,
      path: this.#o.resolveFile(target.dag.fileloc),
      dagId: request.dag_id,
      event: request.event as CallbackEventName,
      deadlineIndex: target.payload.deadline?.index ?? null,
      context: target.context,
      timeoutMs: this.#o.timeoutSeconds * 1000,
    });
    return failures(outcomes);
  }
}

function failures(outcomes: readonly CallbackOutcome[]): string | null {
  const failed = outcomes.filter((o) => !o.ok);
  if (failed.length === 0) return null;
  return failed.map((o) => `${o.name}: ${o.error ?? "failed"}`).join("\n");
}
