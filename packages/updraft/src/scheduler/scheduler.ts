/**
 * The scheduler. One iteration (`tick`) creates due DAG runs, moves task instances along by their
 * trigger rules, claims what may start and hands it to the executor. A task finishing wakes it at
 * once, so the next task starts within milliseconds; the loop interval only bounds how late a timer
 * (a schedule, a retry delay) fires. Everything it decides is in the database, so another scheduler
 * can take over at any moment. Shutdown: stopping -> draining -> stopped.
 */
import { keyString, type Executor } from "../executor/executor.ts";
import type { SchedulerMetrics } from "../metrics/metrics.ts";
import type { Logger } from "../logging.ts";
import type { Database } from "../storage/database.ts";
import { nowIso } from "../storage/database.ts";
import { jobStore } from "../storage/jobs.ts";
import { leaseStore, newLeaseHolder } from "../storage/leases.ts";
import { isDbConnectionError, isTransientDbError, retrying } from "../storage/retry.ts";
import { taskInstanceStore } from "../storage/task-instances.ts";
import { callbackStore } from "../storage/callbacks.ts";
import { triggerStore } from "../storage/triggers.ts";
import { tryWrites } from "../storage/try-batches.ts";
import { watchForWork } from "../storage/wakeups.ts";
import { createAssetTriggeredRuns } from "./asset-runs.ts";
import { createDueRuns } from "./create-runs.ts";
import { examineRuns } from "./examine-runs.ts";
import { Claims } from "./queue-tasks.ts";
import { OwnerWatch } from "./liveness.ts";
import { rescueOrphans, rescueOwner } from "./rescue.ts";

export interface SchedulerOptions {
  database: Database;
  executor: Executor;
  log: Logger;
  loopIntervalMs: number;
  parallelism: number;
  /** Seconds without a heartbeat after which a scheduler (and its running tasks) counts as dead. */
  heartbeatTimeout: number;
  gracefulShutdownMs: number;
  clock?: () => number;
  metrics?: SchedulerMetrics;
  /** `[core] max_map_length` (default 1024). */
  maxMapLength?: number;
}

export type SchedulerState = "idle" | "running" | "stopping" | "draining" | "stopped";

export class Scheduler {
  readonly #o: SchedulerOptions;
  readonly #holder = newLeaseHolder();
  readonly #watch: OwnerWatch;
  #watchTimer: NodeJS.Timeout | null = null;
  #watching: Promise<void> | null = null;
  /** When a statement of this scheduler last failed (ms): it then judges no heartbeat for a while. */
  #lastDbFailure = 0;
  #leaseHeld = false;
  #state: SchedulerState = "idle";
  #jobId = 0;
  #wake: (() => void) | null = null;
  #pending = false;
  #loop: Promise<void> | null = null;
  #lastHousekeeping = 0;
  #lastFullTick = 0;
  #leaseRenewAt = 0;
  /** Runs whose task instances finished since the last iteration: a hint for a light iteration. */
  #finished = new Map<number, Set<string>>();
  /** The DAG of each run in #finished. */
  #finishedDags = new Map<number, string>();
  #fullTickWanted = true;
  #batchTimer: NodeJS.Timeout | null = null;
  #stopWatching: (() => Promise<void>) | null = null;
  readonly #claims: Claims;

  constructor(options: SchedulerOptions) {
    this.#o = options;
    this.#claims = new Claims({
      database: options.database,
      executor: options.executor,
      jobId: () => this.#jobId,
      parallelism: options.parallelism,
      now: () => this.#now(),
      // Without its liveness lock, this scheduler could be declared dead by the others at any
      // moment: it starts nothing until it holds the lock again.
      mayClaim: () =>
        this.#state === "running" &&
        this.#watch.holds() &&
        (this.#leaseHeld || options.database.adapter.capabilities.supportsMultipleWriters),
    });
    this.#watch = new OwnerWatch({ database: options.database, log: options.log });
    options.executor.onFinished((ti) => {
      const tasks = this.#finished.get(ti.dagRunId) ?? new Set<string>();
      this.#finished.set(ti.dagRunId, tasks.add(ti.taskId));
      this.#finishedDags.set(ti.dagRunId, ti.dagId);
      this.#pending = true;
      if (this.#busy()) this.#wakeSoon();
      else this.#wake?.();
    });
  }

  get state(): SchedulerState {
    return this.#state;
  }

  get jobId(): number {
    return this.#jobId;
  }

  async start(): Promise<void> {
    await this.#register();
    this.#state = "running";
    this.#o.log.info({ jobId: this.#jobId, executor: this.#o.executor.name }, "scheduler started");
    this.#loop = this.#run();
    // Work made elsewhere (a run triggered through the API, a clear) wakes this loop at once.
    this.#stopWatching = await watchForWork(
      this.#o.database,
      () => this.poke(),
      (message) => this.#o.log.warn(message),
    ).catch((error: unknown) => {
      this.#o.log.warn({ err: error }, "could not watch for new work; new runs start at the next iteration");
      return null;
    });
    this.#watchTimer = setInterval(() => {
      this.#watching ??= this.#watchOthers().finally(() => (this.#watching = null));
    }, WATCH_MS);
    this.#watchTimer.unref();
  }

  /** A job row and its liveness lock: this scheduler's identity as an owner of work. */
  async #register(): Promise<void> {
    const writes = tryWrites(this.#o.database);
    if (this.#jobId) writes.followEnds(this.#jobId, null);
    this.#jobId = await jobStore(this.#o.database).start("scheduler", this.#now());
    await this.#watch.hold(this.#jobId);
    // Its tries' ends claim the next tasks in their own commit (queue-tasks.ts), where a round trip
    // to the database is what a freed slot waits for. SQLite answers in-process: there a claim costs
    // statements, not waiting, and the iteration's claim takes more slots per statement.
    if (this.#o.database.adapter.capabilities.supportsMultipleWriters)
      writes.followEnds(this.#jobId, this.#claims.followUp());
  }

  /** Takes over the work of schedulers whose liveness lock is gone (they died). */
  async #watchOthers(): Promise<void> {
    if (this.#state !== "running") return;
    try {
      if (!this.#o.database.adapter.capabilities.supportsMultipleWriters && !this.#leaseHeld) {
        // A standby on SQLite: when the lease holder died, take the lease now, not at the next loop.
        if (await leaseStore(this.#o.database).deadHolder("scheduler", this.#now())) this.poke();
        return;
      }
      for (const dead of await this.#watch.dead()) {
        if (!(await jobStore(this.#o.database).declareDead(dead, this.#now()))) continue;
        this.#o.log.warn({ job: dead }, "a scheduler died (its liveness lock is gone): taking over its work");
        await rescueOwner(this.#o.database, dead, { now: this.#now(), log: this.#o.log });
        this.poke();
      }
    } catch (error) {
      this.#lastDbFailure = Date.now();
      this.#o.log.warn({ err: error }, "checking other schedulers' liveness failed; retrying");
    }
  }

  /** Asks for an iteration as soon as the current one ends (a task finished, a run was triggered). */
  poke(): void {
    this.#fullTickWanted = true;
    this.#pending = true;
    this.#wake?.();
  }

  async stop(): Promise<void> {
    if (this.#state !== "running") return;
    this.#state = "stopping";
    this.poke();
    await this.#loop;
    this.#state = "draining";
    this.#o.log.info(
      { running: this.#o.executor.running().length, graceMs: this.#o.gracefulShutdownMs },
      "scheduler draining running tasks",
    );
    if (this.#watchTimer) clearInterval(this.#watchTimer);
    await this.#stopWatching?.().catch(() => undefined);
    await this.#watching;
    await this.#o.executor.stop(this.#o.gracefulShutdownMs);
    tryWrites(this.#o.database).followEnds(this.#jobId, null);
    // Ending the job hands whatever is still held (tries that outlived the grace period) to the
    // others at once (rescue.ts); the database may be down: retried for a while, then left to them.
    const bounded = { what: "ending the scheduler's job", maxMs: 15_000 };
    await retrying(() => jobStore(this.#o.database).end(this.#jobId, "success", this.#now()), bounded).catch(
      (error) => this.#o.log.warn({ err: error }, "could not end the scheduler's job; others take it over"),
    );
    await this.#watch.release();
    await retrying(() => leaseStore(this.#o.database).release("scheduler", this.#holder), bounded).catch(
      () => undefined,
    );
    this.#state = "stopped";
    this.#o.log.info("scheduler stopped");
  }

  /**
   * One iteration; public so tests can drive the scheduler step by step with a fake clock. A light
   * iteration (after tasks finished) examines only those tasks' runs and claims what became ready; a
   * full one also creates due runs, starts queued runs and examines every running run.
   */
  async tick(
    o: { changed?: ReadonlyMap<number, readonly string[]>; dagIds?: ReadonlyMap<number, string> } = {},
  ): Promise<{ runsCreated: number; queued: number; active: boolean }> {
    const now = this.#now();
    const database = this.#o.database;
    if (!(await this.#mayWork(now))) return { runsCreated: 0, queued: 0, active: false };
    // Heartbeats and the search for orphans run a few times per heartbeat timeout, not on every
    // iteration: a busy scheduler iterates once per finished task.
    if (Date.parse(now) - this.#lastHousekeeping >= (this.#o.heartbeatTimeout * 1000) / 6) {
      this.#lastHousekeeping = Date.parse(now);
      await this.#housekeeping(now);
    }
    const runsCreated = o.changed
      ? 0
      : (await createDueRuns(database, { now, log: this.#o.log })) +
        (await createAssetTriggeredRuns(database, { now, log: this.#o.log }));
    // Deferred task instances whose defer() timeout passed are scheduled to fail (one indexed UPDATE).
    if (!o.changed) await triggerStore(database).timeOutDeferred(now);
    // Deadlines passed for unfinished runs: marked missed, their callbacks requested for the triggerer.
    if (!o.changed) await this.#missDeadlines(now);
    // A light iteration claims in its last run's transaction (one commit less per finished batch).
    const queued = await this.#claims.inIteration(async (claim) => {
      const claimed = await examineRuns(database, {
        now,
        log: this.#o.log,
        cancel: (key) => this.#o.executor.cancel(key),
        changed: o.changed,
        dagIds: o.dagIds,
        alsoClaim: o.changed ? claim : undefined,
        maxMapLength: this.#o.maxMapLength,
      });
      if (!o.changed) await this.#stopCleared();
      return claimed;
    });
    return { runsCreated, queued, active: true };
  }

  /**
   * Heartbeats (this job's, its running tries'), tries taken over by another scheduler stopped,
   * and the slow search for orphans. After a database fault of its own, a scheduler judges nobody
   * by heartbeat for a heartbeat timeout: the others' heartbeats stopped in the same outage.
   */
  async #housekeeping(now: string): Promise<void> {
    const database = this.#o.database;
    const jobs = jobStore(database);
    // (A scheduler driven by tick() alone, in tests, has no job to lose.)
    if (!(await jobs.heartbeat(this.#jobId, null, now)) && this.#state === "running") {
      this.#o.log.error(
        { job: this.#jobId },
        "another scheduler declared this one dead (it lost the database for too long): its tries were handed over; stopping them and registering again",
      );
      for (const key of this.#o.executor.running()) this.#o.executor.cancel(key);
      await this.#register();
      return;
    }
    const running = this.#o.executor.running();
    const tis = taskInstanceStore(database);
    await tis.heartbeat(this.#jobId, running, now);
    const owned = new Set((await tis.owned(this.#jobId, running)).map(keyString));
    for (const key of running) {
      if (owned.has(keyString(key))) continue;
      if (this.#o.executor.cancel(key))
        this.#o.log.warn({ ...key }, "a try of this scheduler was taken over by another: stopping it");
    }
    const quietMs = this.#o.heartbeatTimeout * 1000;
    const lockSince = this.#watch.heldSince() ?? Date.now();
    if (Date.now() - Math.max(this.#lastDbFailure, lockSince) < quietMs) return;
    await rescueOrphans(database, {
      now,
      heartbeatTimeout: this.#o.heartbeatTimeout,
      log: this.#o.log,
      self: this.#jobId,
    });
  }

  async #missDeadlines(now: string): Promise<void> {
    const missed = await callbackStore(this.#o.database).missDueDeadlines(now);
    if (missed > 0) this.#o.log.warn({ missed }, "runs missed their deadline: callbacks requested");
  }

  /** Task instances cleared while running here are marked restarting: stop them. */
  async #stopCleared(): Promise<void> {
    const running = this.#o.executor.running();
    if (running.length === 0) return;
    const restarting = await this.#o.database.db
      .selectFrom("task_instance")
      .select(["dag_id", "run_id", "task_id", "map_index"])
      .where("state", "=", "restarting")
      .execute();
    for (const r of restarting)
      this.#o.executor.cancel({ dagId: r.dag_id, runId: r.run_id, taskId: r.task_id, mapIndex: r.map_index });
  }

  /**
   * On a single-writer database only the lease holder schedules; the others stand by. The lease is
   * renewed when a third of it has passed, not on every iteration.
   */
  async #mayWork(now: string): Promise<boolean> {
    if (this.#o.database.adapter.capabilities.supportsMultipleWriters) return true;
    const at = Date.parse(now);
    if (at < this.#leaseRenewAt) return true;
    const until = new Date(at + this.#o.heartbeatTimeout * 1000).toISOString();
    const leases = leaseStore(this.#o.database);
    let held = await leases.acquire("scheduler", this.#holder, now, until);
    if (!held) {
      // A holder that died on this machine is replaced at once, not when its lease lapses.
      const holder = await leases.deadHolder("scheduler", now);
      if (holder) {
        held = await leases.takeFrom("scheduler", holder, this.#holder, until);
        if (held) this.#o.log.warn({ holder }, "the scheduler holding the lease died: taking over");
      }
    }
    this.#leaseHeld = held;
    this.#leaseRenewAt = held ? at + (this.#o.heartbeatTimeout * 1000) / 3 : 0;
    return held;
  }

  async #run(): Promise<void> {
    while (this.#state === "running") {
      this.#pending = false;
      const full = this.#fullTickWanted || Date.now() - this.#lastFullTick >= this.#o.loopIntervalMs;
      const changed = full
        ? undefined
        : new Map([...this.#finished].map(([runId, tasks]) => [runId, [...tasks]]));
      const dagIds = new Map(this.#finishedDags);
      this.#finished.clear();
      this.#finishedDags.clear();
      if (full) {
        this.#fullTickWanted = false;
        this.#lastFullTick = Date.now();
      }
      const began = performance.now();
      try {
        const r = await this.tick({ changed, dagIds });
        const metrics = this.#o.metrics;
        if (metrics) {
          metrics.loopSeconds.observe(
            { kind: changed ? "light" : "full" },
            (performance.now() - began) / 1000,
          );
          metrics.runsCreated.inc(r.runsCreated);
          metrics.executorRunning.set(this.#o.executor.running().length);
        }
      } catch (error) {
        // An outage is logged once by the database's health (storage/health.ts), not every loop.
        if (isDbConnectionError(error) && !this.#o.database.health.reachable)
          this.#o.log.debug({ err: error }, "scheduler iteration failed: the database is unreachable");
        else this.#o.log.error({ err: error }, "scheduler iteration failed; carrying on");
        this.#fullTickWanted = true;
        if (isTransientDbError(error)) this.#lastDbFailure = Date.now();
        this.#lastHousekeeping = 0; // heartbeat first thing once the database answers again
        await jobStore(this.#o.database)
          .heartbeat(this.#jobId, String((error as Error).message ?? error), this.#now())
          .catch(() => undefined);
      }
      if (!this.#pending && this.#state === "running") await this.#sleep(this.#o.loopIntervalMs);
      // While tasks finish in a stream, rest as long as the iteration took before the next one: the
      // scheduler then spends at most half its time iterating, and each iteration handles every task
      // that finished meanwhile instead of one at a time.
      else if (this.#state === "running") await pause(performance.now() - began);
    }
  }

  /**
   * The executor still runs at least half its capacity: a finished task's downstream starting a few
   * milliseconds later costs no throughput (the slots are busy anyway), and one iteration then handles
   * every task that finished meanwhile instead of one iteration per task. With little running (a
   * chain, the end of a fan-out), the next task is waited for, so the iteration starts at once.
   */
  #busy(): boolean {
    return this.#o.executor.running().length >= Math.max(2, this.#o.parallelism / 2);
  }

  #wakeSoon(): void {
    if (this.#batchTimer) return;
    this.#batchTimer = setTimeout(() => {
      this.#batchTimer = null;
      this.#wake?.();
    }, BATCH_MS);
    this.#batchTimer.unref();
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = () => {
        this.#wake = null;
        done();
      };
    });
  }

  #now(): string {
    return nowIso(this.#o.clock);
  }
}

/** How often other schedulers' liveness locks are looked at. */
const WATCH_MS = 200;

/** How long finished tasks gather while the executor is busy (see #busy). */
const BATCH_MS = 10;

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.min(Math.max(ms, 5), 50)));
}
