/**
 * The triggerer (Airflow's): runs the triggers deferred task instances wait on, thousands per process,
 * each an async object rather than a process or a thread. Every second it claims triggers nobody holds
 * (up to its capacity); every third of a lease it renews its claim and drops the triggers it no longer
 * holds (the lease lapsed and another triggerer took them, or their task was cleared). A trigger's
 * event (or its failure) is written in batches, fenced by the claim (storage/triggers.ts), and wakes
 * the schedulers, which start the task instances again. Several triggerers share the triggers; one
 * that dies stops renewing, and its triggers run elsewhere within a lease.
 *
 * Built-in triggers run here (builtin.ts); custom ones, user code, in a child process without the
 * database URL and keys (custom-host.ts). DAG and deadline callbacks the schedulers request are
 * claimed and run here too, in a user-code process of their own (callbacks.ts).
 */
import type { Logger } from "../logging.ts";
import type { JsonValue } from "../sdk/json.ts";
import type { Connection } from "../connections/uri.ts";
import type { Database } from "../storage/database.ts";
import { nowIso } from "../storage/database.ts";
import { jobStore } from "../storage/jobs.ts";
import {
  TRIGGERER_JOB_TYPE,
  triggerStore,
  type ClaimedTrigger,
  type TriggerEnd,
} from "../storage/triggers.ts";
import { wakeSchedulers } from "../storage/wakeups.ts";
import { TRIGGERS } from "../sdk/triggers.ts";
import { BUILTIN, isBuiltin, type BuiltinContext } from "./builtin.ts";
import { resolveFileloc } from "../dag-processing/discover.ts";
import type { Lookup } from "./callback-host.ts";
import { CallbackRunner } from "./callbacks.ts";
import { CustomTriggers } from "./custom-host.ts";
import { TimerHeap } from "./timers.ts";

export interface TriggererOptions {
  database: Database;
  /** Connections for HttpTrigger and SqlTrigger. */
  connection(connId: string): Promise<Connection | undefined>;
  log: Logger;
  /** Triggers held at once (`[triggerer] capacity`). */
  capacity: number;
  /** Seconds a claim lasts unless renewed (`[triggerer] lease_seconds`). */
  leaseSeconds: number;
  /** Where custom triggers' modules are (`[core] dags_folder`). */
  dagsFolder: string;
  /** Heap of the custom-trigger process, MiB. */
  customMemoryMb?: number;
  /** How often unclaimed triggers are looked for (ms); default 1000. */
  claimEveryMs?: number;
  /** `[core] callback_timeout`, seconds (default 60): each DAG or deadline callback's limit. */
  callbackTimeoutSeconds?: number;
  /** Variables and connections for callbacks (executor/lookups.ts lookupForTask); default: none. */
  lookup?: Lookup;
  /** A DAG file's absolute path from its stored fileloc; default: dag-processing's resolveFileloc. */
  resolveFile?: (fileloc: string) => string;
}

/** A trigger running here: how to stop it (small: a triggerer holds thousands). */
interface Running {
  cancel: () => void;
}

/** Triggers without a deferred task instance are deleted this often. */
const ORPHANS_EVERY_MS = 30_000;
/** Ends written per transaction. */
const FIRE_BATCH = 100;
/** Triggers claimed per transaction: a large backlog is taken in steps, not in one burst of garbage. */
const CLAIM_BATCH = 500;

export class Triggerer {
  readonly #o: TriggererOptions;
  readonly #store: ReturnType<typeof triggerStore>;
  readonly #timers = new TimerHeap();
  readonly #custom: CustomTriggers;
  readonly #callbacks: CallbackRunner;
  readonly #builtin: BuiltinContext;
  readonly #running = new Map<number, Running>();
  /** Ends waiting to be written, in order. */
  #ends: TriggerEnd[] = [];
  #flushing: Promise<void> | null = null;
  #jobId = 0;
  #stopping = false;
  #loop: Promise<void> | null = null;
  #wake: (() => void) | null = null;
  #lastRenew = 0;
  #lastOrphans = 0;
  #fired = 0;

  constructor(o: TriggererOptions) {
    this.#o = o;
    this.#store = triggerStore(o.database);
    this.#custom = new CustomTriggers({
      dagsFolder: o.dagsFolder,
      log: o.log,
      memoryMb: o.customMemoryMb ?? 512,
    });
    this.#callbacks = new CallbackRunner({
      database: o.database,
      log: o.log,
      dagsFolder: o.dagsFolder,
      resolveFile: o.resolveFile ?? ((fileloc) => resolveFileloc(fileloc, o.dagsFolder)),
      timeoutSeconds: o.callbackTimeoutSeconds ?? 60,
      lookup: o.lookup ?? (async () => undefined),
      memoryMb: o.customMemoryMb ?? 512,
    });
    this.#builtin = { database: o.database, connection: o.connection, timers: this.#timers, log: o.log };
  }

  get jobId(): number {
    return this.#jobId;
  }

  /** Triggers running here now. */
  get running(): number {
    return this.#running.size;
  }

  /** Triggers fired (or failed) by this triggerer so far. */
  get fired(): number {
    return this.#fired;
  }

  get customPid(): number | undefined {
    return this.#custom.pid;
  }

  /** The pid of the process running DAG and deadline callbacks, while there is one. */
  get callbackPid(): number | undefined {
    return this.#callbacks.pid;
  }

  /** Callback requests run to the end here so far. */
  get callbacksDone(): number {
    return this.#callbacks.done;
  }

  async start(): Promise<void> {
    this.#jobId = await jobStore(this.#o.database).start(TRIGGERER_JOB_TYPE);
    this.#o.log.info(
      { jobId: this.#jobId, capacity: this.#o.capacity, leaseSeconds: this.#o.leaseSeconds },
      "triggerer started",
    );
    this.#loop = this.#run();
  }

  /** Graceful stop: triggers are cancelled and handed back at once (another triggerer claims them). */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#wake?.();
    await this.#loop;
    for (const r of this.#running.values()) r.cancel();
    // Events already produced are written first: they are not run again elsewhere.
    await this.#flushing;
    await this.#flush().catch(() => undefined);
    this.#running.clear();
    this.#timers.clear();
    const released = await this.#store.release(this.#jobId).catch((error: unknown) => {
      this.#o.log.warn(
        { err: error },
        "could not release the triggers; they go to others when the lease lapses",
      );
      return 0;
    });
    await this.#custom.stop();
    await this.#callbacks.stop(this.#jobId).catch(() => undefined);
    await jobStore(this.#o.database)
      .end(this.#jobId)
      .catch(() => undefined);
    this.#o.log.info({ released, fired: this.#fired }, "triggerer stopped");
  }

  async #run(): Promise<void> {
    const every = this.#o.claimEveryMs ?? 1000;
    while (!this.#stopping) {
      try {
        await this.#iterate();
      } catch (error) {
        this.#o.log.error({ err: error }, "triggerer iteration failed; carrying on");
        await jobStore(this.#o.database)
          .heartbeat(this.#jobId, String((error as Error).message ?? error))
          .catch(() => undefined);
      }
      if (!this.#stopping) await this.#sleep(every);
    }
  }

  /** Renews (a third of a lease after the last renewal), claims, and now and then deletes orphans. */
  async #iterate(): Promise<void> {
    const leaseMs = this.#o.leaseSeconds * 1000;
    const now = Date.now();
    if (now - this.#lastRenew >= leaseMs / 3) {
      await this.#renew(now + leaseMs);
      await this.#callbacks.renew(this.#jobId, now + leaseMs);
      await jobStore(this.#o.database).heartbeat(this.#jobId);
      this.#lastRenew = now;
    }
    if (now - this.#lastOrphans >= ORPHANS_EVERY_MS) {
      this.#lastOrphans = now;
      const deleted = await this.#store.deleteOrphans();
      if (deleted > 0) this.#o.log.info({ deleted }, "deleted triggers no task instance waits on");
    }
    let claimed = 0;
    for (;;) {
      const batch = await this.#store.claim(
        this.#jobId,
        Math.min(this.#o.capacity, this.#running.size + CLAIM_BATCH),
        new Date(now).toISOString(),
        new Date(now + leaseMs).toISOString(),
      );
      for (const trigger of batch) this.#begin(trigger);
      claimed += batch.length;
      if (batch.length < CLAIM_BATCH || this.#stopping) break;
    }
    if (claimed > 0) this.#o.log.info({ claimed, running: this.#running.size }, "claimed triggers");
    // DAG and deadline callbacks the schedulers requested (callbacks.ts).
    if (!this.#stopping) await this.#callbacks.claim(this.#jobId, now, now + leaseMs);
  }

  /** Triggers this triggerer runs but no longer holds are cancelled. */
  async #renew(leaseUntil: number): Promise<void> {
    const held = new Set(await this.#store.renew(this.#jobId, new Date(leaseUntil).toISOString()));
    const pending = new Set(this.#ends.map((e) => e.id));
    let dropped = 0;
    for (const [id, r] of this.#running) {
      if (held.has(id) || pending.has(id)) continue;
      r.cancel();
      this.#running.delete(id);
      dropped++;
    }
    if (dropped > 0)
      this.#o.log.warn(
        { dropped },
        "triggers no longer held here (taken over, or their task was cleared): cancelled",
      );
  }

  #begin(trigger: ClaimedTrigger): void {
    const { id, classpath, kwargs } = trigger;
    if (this.#running.has(id)) return;
    if (classpath === TRIGGERS.dateTime) return this.#beginDateTime(id, String(kwargs.moment));
    const abort = new AbortController();
    this.#running.set(id, { cancel: () => abort.abort(new Error("cancelled")) });
    const builtin = isBuiltin(classpath) ? BUILTIN[classpath] : undefined;
    const run: Promise<JsonValue> = builtin
      ? builtin(kwargs, this.#builtin, abort.signal)
      : this.#custom.run(id, classpath, kwargs, abort.signal);
    run.then(
      (event) => !abort.signal.aborted && this.#end({ id, event }),
      (error: unknown) => {
        if (abort.signal.aborted) return;
        const message = error instanceof Error ? error.message : String(error);
        this.#o.log.warn({ trigger: id, classpath, error: message }, "trigger failed");
        this.#end({ id, error: message });
      },
    );
  }

  /** The commonest trigger, kept lean: an entry in the timer heap and its cancel, no promise. */
  #beginDateTime(id: number, moment: string): void {
    const at = Date.parse(moment);
    if (Number.isNaN(at)) {
      this.#running.set(id, { cancel: () => {} });
      return this.#end({ id, error: `DateTimeTrigger: moment "${moment}" is not a date` });
    }
    let cancelled = false;
    const cancelTimer = this.#timers.at(at, () => !cancelled && this.#end({ id, event: moment }));
    this.#running.set(id, {
      cancel: () => {
        cancelled = true;
        cancelTimer();
      },
    });
  }

  #end(end: TriggerEnd): void {
    this.#ends.push(end);
    this.#flushing ??= this.#flush().finally(() => (this.#flushing = null));
  }

  /** Writes the ends gathered meanwhile, a batch per transaction; a failed write is tried again. */
  async #flush(): Promise<void> {
    // Gathers what became due in the same instant (the timer heap fires many at once).
    await new Promise((r) => setImmediate(r));
    while (this.#ends.length > 0) {
      const batch = this.#ends.slice(0, FIRE_BATCH);
      let result: { fired: number[]; lost: number[] };
      try {
        result = await this.#store.fireMany(this.#jobId, batch, nowIso(), { wake: false });
      } catch (error) {
        this.#o.log.warn({ err: error, triggers: batch.length }, "writing trigger events failed; retrying");
        await new Promise((r) => setTimeout(r, 1000));
        if (this.#stopping && !this.#o.database.health.reachable) return;
        continue;
      }
      this.#ends = this.#ends.slice(batch.length);
      for (const id of [...result.fired, ...result.lost]) this.#running.delete(id);
      this.#fired += result.fired.length;
      for (const id of result.fired) this.#o.log.info({ trigger: id }, "trigger fired");
      if (result.lost.length > 0)
        this.#o.log.warn(
          { triggers: result.lost },
          "triggers ended here but are no longer held: not written",
        );
      if (result.fired.length > 0) await wakeSchedulers(this.#o.database);
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wake = done;
    });
  }
}
