/**
 * The BullMQ executor: the scheduler's side of distributed execution. What starts is decided as with
 * the local executor (the claim: parallelism, pools, maxActiveTasks, priority weights); a claimed try
 * then becomes a job in its task's queue carrying a token for that one try, and the claim is handed
 * to the queue (the task instance is owned by no scheduler from then on), so a scheduler that dies
 * loses nothing: the job runs on a worker and the worker reports through the Task Execution API.
 *
 * What the scheduler keeps watching, from Redis:
 * - a job's end (QueueEvents, a Redis stream): a finished try wakes the scheduler at once; a failed
 *   job (its worker died and BullMQ's stalled-job check gave up on it) fails its try;
 * - the worker registry: a worker whose liveness key expired is dead; its tries fail and are retried
 *   by their retries, elsewhere;
 * - task instances queued longer than [scheduler] task_queued_timeout go back to scheduled.
 * Every one of these writes is fenced in the database by the try, so schedulers may all do them.
 */
import { createHash } from "node:crypto";
import { Job, Queue, QueueEvents } from "bullmq";
import type { Config } from "../../config/load.ts";
import type { Logger } from "../../logging.ts";
import type { TryTokens } from "../../secrets/try-tokens.ts";
import { failLostTry } from "../../scheduler/rescue.ts";
import type { Database } from "../../storage/database.ts";
import { nowIso } from "../../storage/database.ts";
import { retrying } from "../../storage/retry.ts";
import type { ClaimedTaskInstance } from "../../storage/sql/claim-task-instances.ts";
import { taskInstanceStore, type TaskInstanceKey } from "../../storage/task-instances.ts";
import { keyString, type Executor, type ExecutableTry } from "../executor.ts";
import { bullConnection, bullSettings, connectRedis, redactRedisUrl, type BullSettings } from "./redis.ts";
import { workerRegistry } from "./registry.ts";

/** What a job carries: the try it is for and the token that speaks for it. Nothing else. */
export interface TryJobData {
  token: string;
  dagId: string;
  runId: string;
  taskId: string;
  mapIndex: number;
  /** The try number the start makes. */
  tryNumber: number;
  dagRunId: number;
}

/** What a worker's job returns when its try ended (the scheduler reads it from the completed event). */
export interface TryJobResult {
  dagRunId: number;
  taskId: string;
  state: string;
}

/** BullMQ queue names may not hold ':' (its key separator); a task's queue may. */
export function bullQueueName(queue: string): string {
  return queue.replaceAll("%", "%25").replaceAll(":", "%3A");
}

export interface BullMQExecutorOptions {
  config: Config;
  database: Database;
  log: Logger;
  tokens: TryTokens;
  clock?: () => number;
}

const JOB_OPTIONS = {
  removeOnComplete: { age: 3600, count: 10_000 },
  removeOnFail: { age: 7 * 86400, count: 10_000 },
};

/** A claim's job id: its task instance, try and claim time (so a claim made again gets another). */
export function jobIdOf(key: TaskInstanceKey, tryNumber: number, queuedAt: string): string {
  return createHash("sha256")
    .update(
      JSON.stringify([
        key.dagId,
        key.runId,
        key.taskId,
        key.mapIndex ?? -1,
        tryNumber,
        sameInstant(queuedAt),
      ]),
    )
    .digest("hex")
    .slice(0, 32);
}

/** One spelling of an instant, whatever form the database answered it in. */
function sameInstant(at: string): string {
  const ms = Date.parse(at);
  return Number.isNaN(ms) ? at : new Date(ms).toISOString();
}

/** How often dead workers and overdue queued tries are looked for. */
const WATCH_MS = 2_000;

export class BullMQExecutor implements Executor {
  readonly name = "BullMQExecutor";
  readonly #o: BullMQExecutorOptions;
  readonly #settings: BullSettings;
  readonly #queues = new Map<string, Queue>();
  readonly #events = new Map<string, QueueEvents>();
  /** Claims being put into Redis: a handful at a time, for a moment each. */
  readonly #handing = new Map<string, Promise<void>>();
  /** Claims waiting for the next hand-over (this tick's). */
  readonly #batch: ExecutableTry[] = [];
  readonly #batchDone: (() => void)[] = [];
  readonly #listeners: ((ti: ClaimedTaskInstance) => void)[] = [];
  readonly #redis;
  readonly #registry;
  #timer: NodeJS.Timeout | null = null;
  #watching: Promise<void> | null = null;
  #lastQueuedSweep = 0;

  constructor(o: BullMQExecutorOptions) {
    this.#o = o;
    this.#settings = bullSettings(o.config);
    this.#redis = connectRedis(this.#settings, "scheduler", o.log);
    this.#registry = workerRegistry(this.#redis, this.#settings.prefix);
    o.log.info(
      { redis: redactRedisUrl(this.#settings.url), prefix: this.#settings.prefix },
      "BullMQ executor: task tries go to workers through Redis",
    );
    this.#listen("default");
    this.#timer = setInterval(() => {
      this.#watching ??= this.#watch().finally(() => (this.#watching = null));
    }, WATCH_MS);
    this.#timer.unref();
  }

  /** The claim statement enforces parallelism and pools; here only claims still being handed over count. */
  freeSlots(): number {
    return Math.max(0, this.#o.config.values.core.parallelism - this.#handing.size);
  }

  execute(ti: ExecutableTry): void {
    const key = keyString(ti);
    if (this.#handing.has(key)) return;
    this.#batch.push(ti);
    const handed = new Promise<void>((resolve) => this.#batchDone.push(resolve)).finally(() =>
      this.#handing.delete(key),
    );
    this.#handing.set(key, handed);
    // The claims of one iteration go to Redis and are handed over together (one round trip each).
    if (this.#batch.length === 1) setImmediate(() => void this.#flush());
  }

  async #flush(): Promise<void> {
    const batch = this.#batch.splice(0);
    const done = this.#batchDone.splice(0);
    try {
      await this.#handOver(batch);
    } finally {
      for (const resolve of done) resolve();
    }
  }

  onFinished(listener: (ti: ClaimedTaskInstance) => void): void {
    this.#listeners.push(listener);
  }

  /** Tries run on workers, which heartbeat them themselves: none runs here. */
  running(): TaskInstanceKey[] {
    return [];
  }

  /** A cleared try is stopped by its worker: its next heartbeat is refused. */
  cancel(): boolean {
    return false;
  }

  async stop(graceMs: number): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    const handing = Promise.all(this.#handing.values());
    await Promise.race([handing, new Promise((r) => setTimeout(r, Math.min(graceMs, 15_000)).unref())]);
    await this.#watching;
    await Promise.all([...this.#events.values()].map((e) => e.close().catch(() => undefined)));
    await Promise.all([...this.#queues.values()].map((q) => q.close().catch(() => undefined)));
    this.#redis.disconnect();
  }

  /**
   * The hand-over first, then the jobs: a worker can never take a job whose claim is still this
   * scheduler's. If this scheduler dies between the two, the task instances wait in `queued` with no
   * job: the sweep (#sweepQueued) finds them by their job's id, which the claim names, and schedules
   * them again. Jobs that could not be added are taken back at once.
   */
  async #handOver(tries: ExecutableTry[]): Promise<void> {
    const { config, database, log } = this.#o;
    const tis = taskInstanceStore(database);
    const keyOf = (ti: ExecutableTry) => ({
      dagId: ti.dagId,
      runId: ti.runId,
      taskId: ti.taskId,
      mapIndex: ti.mapIndex,
    });
    try {
      await retrying(() => tis.handManyToQueue(tries.map(keyOf), tries[0]!.owner, this.#now()), {
        what: `handing ${tries.length} tries to their queue`,
      });
    } catch (error) {
      // Still this scheduler's claims: handed back when it stops or dies (rescue.ts).
      log.warn({ err: error }, "could not hand tries to their queue; they wait for this scheduler's end");
      return;
    }
    // Valid while the job may wait in its queue; its start returns a token of the usual lifetime.
    const ttl = config.values.scheduler.task_queued_timeout + this.#o.tokens.ttlSeconds;
    const byQueue = new Map<string, ExecutableTry[]>();
    for (const ti of tries)
      byQueue.set(ti.queue ?? "default", [...(byQueue.get(ti.queue ?? "default") ?? []), ti]);
    for (const [queueName, group] of byQueue) {
      try {
        const jobs = await Promise.all(
          group.map(async (ti) => {
            const tryNumber = ti.tryNumber + 1;
            const data: TryJobData = {
              token: await this.#o.tokens.issue({ ...keyOf(ti), tryNumber }, ttl),
              ...keyOf(ti),
              tryNumber,
              dagRunId: ti.dagRunId,
            };
            return {
              name: ti.taskId,
              data,
              opts: { ...JOB_OPTIONS, jobId: jobIdOf(ti, tryNumber, ti.queuedAt ?? "") },
            };
          }),
        );
        const queue = this.#queue(queueName);
        await retrying(() => queue.addBulk(jobs), {
          what: `queueing ${group.length} tries in "${queueName}"`,
          maxMs: 30_000,
          isTransient: () => true,
        });
        this.#listen(queueName);
      } catch (error) {
        log.error(
          { err: error, queue: queueName, tries: group.length },
          "could not queue tries; they are scheduled again",
        );
        for (const ti of group)
          await retrying(() => tis.releaseQueued(keyOf(ti), ti.tryNumber + 1, this.#now()), {
            what: "taking back a try",
          }).catch(() => undefined); // found by the sweep
      }
    }
  }

  #queue(name: string): Queue {
    let queue = this.#queues.get(name);
    if (!queue) {
      queue = new Queue(bullQueueName(name), {
        connection: bullConnection(this.#settings, "scheduler-queue"),
        prefix: this.#settings.prefix,
      });
      queue.on("error", () => undefined); // the connection logs outages (redis.ts)
      this.#queues.set(name, queue);
    }
    return queue;
  }

  /** Follows a queue's job events (a Redis stream, read from where it left off after a reconnect). */
  #listen(name: string): void {
    if (this.#events.has(name)) return;
    const events = new QueueEvents(bullQueueName(name), {
      connection: bullConnection(this.#settings, "scheduler-events"),
      prefix: this.#settings.prefix,
    });
    events.on("error", () => undefined);
    events.on("completed", ({ returnvalue }) => {
      const r = (
        typeof returnvalue === "string" ? safeJson(returnvalue) : returnvalue
      ) as TryJobResult | null;
      if (!r || typeof r.dagRunId !== "number") return;
      const ti = { dagRunId: r.dagRunId, taskId: r.taskId } as ClaimedTaskInstance;
      for (const listener of this.#listeners) listener(ti);
    });
    events.on("failed", ({ jobId, failedReason }) => void this.#jobFailed(name, jobId, failedReason));
    this.#events.set(name, events);
  }

  /** A job BullMQ gave up on (its worker died: stalled): its try is lost. */
  async #jobFailed(queueName: string, jobId: string, reason: string): Promise<void> {
    try {
      const job = await Job.fromId<TryJobData>(this.#queue(queueName), jobId);
      if (!job) return;
      const state = await failLostTry(this.#o.database, job.data, {
        now: this.#now(),
        log: this.#o.log,
        reason: `its job failed in queue "${queueName}": ${reason}`,
      });
      if (state) for (const listener of this.#listeners) listener(job.data as unknown as ClaimedTaskInstance);
    } catch (error) {
      this.#o.log.warn({ err: error, jobId }, "could not handle a failed job; the heartbeat timeout will");
    }
  }

  /** Dead workers' tries, and tries queued too long. */
  async #watch(): Promise<void> {
    try {
      for (const worker of await this.#registry.list()) {
        if (worker.alive || !(await this.#registry.forget(worker.id))) continue;
        this.#o.log.warn(
          { worker: worker.id, hostname: worker.hostname, tries: worker.running.length },
          "a worker died (its heartbeat in Redis expired): its tries fail and are retried",
        );
        for (const lost of worker.running)
          await failLostTry(this.#o.database, lost, {
            now: this.#now(),
            log: this.#o.log,
            reason: `worker ${worker.hostname} (${worker.id}) died`,
          });
      }
      if (Date.now() - this.#lastQueuedSweep >= 30_000) {
        this.#lastQueuedSweep = Date.now();
        await this.#sweepQueued();
      }
    } catch (error) {
      this.#o.log.warn({ err: error }, "watching workers failed; retrying");
    }
  }

  /**
   * Task instances handed to a queue but without a job there (their scheduler died between the two)
   * go back to scheduled after a short while; any waiting longer than task_queued_timeout too.
   */
  async #sweepQueued(): Promise<void> {
    const timeout = this.#o.config.values.scheduler.task_queued_timeout;
    const now = Date.parse(this.#now());
    const waiting = await this.#o.database.db
      .selectFrom("task_instance")
      .select(["dag_id", "run_id", "task_id", "map_index", "try_number", "queue", "queued_dttm"])
      .where("state", "=", "queued")
      .where("claimed_by_job_id", "is", null)
      .where("queued_dttm", "<", new Date(now - 30_000).toISOString())
      .limit(1000)
      .execute();
    for (const r of waiting) {
      const key = { dagId: r.dag_id, runId: r.run_id, taskId: r.task_id, mapIndex: r.map_index };
      const tryNumber = r.try_number + 1;
      const overdue = Date.parse(r.queued_dttm ?? "") < now - timeout * 1000;
      const job = overdue
        ? undefined
        : await Job.fromId(this.#queue(r.queue), jobIdOf(key, tryNumber, r.queued_dttm ?? ""));
      if (job) continue;
      await failLostTry(
        this.#o.database,
        { ...key, tryNumber },
        {
          now: this.#now(),
          log: this.#o.log,
          reason: overdue
            ? `queued longer than task_queued_timeout (${timeout} s)`
            : "its job is not in Redis",
        },
      );
    }
  }

  #now(): string {
    return nowIso(this.#o.clock);
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
