/**
 * `updraft worker`: takes tries from BullMQ queues and runs them with the local executor's runner
 * (executeWorkload: bash in process groups, TypeScript in the TaskFlow pool, memory limits, timeouts,
 * the lifeline). It holds a way to Redis and the Task Execution API's URL, nothing else: no database
 * URL, no secret key, no encryption key. A try's life here:
 *
 *   job -> start (the API answers with the workload) -> run, heartbeating and uploading its log ->
 *   result to the API (retried until it is recorded) -> job completed
 *
 * A refused heartbeat (409: cleared, or presumed dead and replaced) stops the try. SIGTERM: no new
 * tries; running ones may finish within the grace period, then are stopped and handed back (they run
 * again elsewhere, using no retry). kill -9: the lifeline kills the tries' processes; the worker's
 * liveness key in Redis expires and schedulers fail its tries, which their retries run again.
 */
import type { TriggerRequest } from "../cross-dag.ts";
import { randomUUID } from "node:crypto";
import { Worker, type Job } from "bullmq";
import type { Config } from "../../config/load.ts";
import { openFileTaskLog } from "../task-log.ts";
import type { Logger } from "../../logging.ts";
import { LogFolder } from "../../logs/folder.ts";
import { Masker } from "../../logs/masker.ts";
import type { LogStream } from "../../logs/writer.ts";
import { TaskFlowPool } from "../../runner/taskflow-pool.ts";
import type { LookupKind, VariableWrite } from "../../runner/taskflow-protocol.ts";
import { sensitiveSettings } from "../../scheduler/runtime.ts";
import { resolveFileloc } from "../../dag-processing/discover.ts";
import { sensitiveValues } from "../../core/sensitive.ts";
import { secretExtraKeys } from "../../connections/types.ts";
import { listProviders } from "../../providers/providers.ts";
import { VERSION } from "../../version.ts";
import { SHUTDOWN } from "../local-executor.ts";
import { executeWorkload, type Result, type WorkloadRunner } from "../run-task-instance.ts";
import { callbackPlan, runTaskCallbacks } from "../task-callbacks.ts";
import { ExecutionClient, StaleTry } from "./execution-client.ts";
import type { TryJobData, TryJobResult } from "./executor.ts";
import { bullQueueName } from "./executor.ts";
import { bullConnection, bullSettings, connectRedis, redactRedisUrl } from "./redis.ts";
import { workerRegistry, type TryRef, type WorkerRecord } from "./registry.ts";

export interface WorkerOptions {
  config: Config;
  log: Logger;
  queues: string[];
  concurrency: number;
  hostname: string;
  /** Aborted on SIGTERM / SIGINT. */
  stop: AbortSignal;
  /** Seconds running tries may take to finish after a stop before they are handed back. */
  graceSeconds?: number;
  /** Seconds between a try's heartbeats (default: a fifth of [scheduler] task_heartbeat_timeout, at most 5). */
  heartbeatSeconds?: number;
}

/** How long a result (or a start) is retried while the execution API is away: a webserver restart. */
const RESULT_RETRY_MS = 15 * 60_000;
const START_RETRY_MS = 60_000;
/** A try's log is uploaded this often, or sooner when this much is waiting. */
const UPLOAD_MS = 500;
const UPLOAD_BYTES = 256 * 1024;

interface RunningTry {
  ref: TryRef;
  controller: AbortController;
}

export async function runWorker(o: WorkerOptions): Promise<void> {
  const { config, log } = o;
  const settings = bullSettings(config);
  // Provider packages' connection types name secret extras the task logs mask (providers/providers.ts).
  await listProviders(config.values.core.dags_folder).catch((error: unknown) =>
    log.warn({ err: error }, "the DAGs project's providers could not be read"),
  );
  const id = randomUUID();
  const client = new ExecutionClient(config.values.core.execution_api_server_url, (what, error, attempt) => {
    if (attempt === 3 || attempt % 20 === 0)
      log.warn({ err: error, attempt }, `the Task Execution API did not answer ${what}; retrying`);
  });
  const redis = connectRedis(settings, "worker", log);
  const registry = workerRegistry(redis, settings.prefix);
  const running = new Map<string, RunningTry>();
  const taskflow = new TaskFlowPool({
    maxWorkers: Math.max(1, Math.min(o.concurrency, config.values.scheduler.taskflow_workers)),
    defaultMemoryLimit: config.values.scheduler.default_task_memory_limit,
    spareWorkers: config.values.scheduler.taskflow_spare_workers,
  });
  const logging = config.values.logging;
  // The worker's own copy of its tries' logs, under the same caps as any logs folder: the webserver
  // keeps the copy users read, so a finished try's local log may always be cleaned.
  const logFolder = new LogFolder({
    base: logging.base_log_folder,
    retentionDays: logging.retention_days,
    maxTotalBytes: logging.max_total_bytes,
    liveLogs: async () => [],
  });
  await logFolder
    .clean()
    .catch((error: unknown) => log.warn({ err: error }, "cleaning the worker's logs failed"));
  const cleaner = setInterval(
    () => void logFolder.clean().catch(() => undefined),
    logging.clean_interval_hours * 3_600_000,
  );
  const heartbeatMs =
    (o.heartbeatSeconds ?? Math.min(5, config.values.scheduler.task_heartbeat_timeout / 5)) * 1000;
  const workerTimeoutMs = config.values.bullmq.worker_timeout * 1000;
  const startedAt = new Date().toISOString();
  let state: WorkerRecord["state"] = "running";
  const record = (): WorkerRecord => ({
    id,
    hostname: o.hostname,
    pid: process.pid,
    queues: o.queues,
    concurrency: o.concurrency,
    version: VERSION,
    startedAt,
    lastHeartbeat: new Date().toISOString(),
    state,
    running: [...running.values()].map((r) => r.ref),
  });
  const beat = () =>
    registry
      .beat(record(), workerTimeoutMs)
      .catch((error: unknown) => log.debug({ err: error }, "worker heartbeat failed"));
  await beat();
  const beater = setInterval(() => void beat(), Math.max(200, workerTimeoutMs / 5));

  const runner: WorkloadRunner = {
    taskflow,
    resolveFile: (fileloc) => resolveFileloc(fileloc, config.values.core.dags_folder),
    defaultImpersonation: config.values.core.default_impersonation,
    callbackTimeout: config.values.core.callback_timeout,
    warn: (fields, message) => log.warn(fields, message),
  };
  const slots = new Slots(o.concurrency);
  const processJob = async (job: Job<TryJobData>): Promise<TryJobResult> => {
    await slots.take();
    try {
      return await runTry(job.data);
    } finally {
      slots.give();
    }
  };

  async function runTry(data: TryJobData): Promise<TryJobResult> {
    const ref: TryRef = {
      dagId: data.dagId,
      runId: data.runId,
      taskId: data.taskId,
      mapIndex: data.mapIndex,
      tryNumber: data.tryNumber,
    };
    const done = (s: string): TryJobResult => ({ dagRunId: data.dagRunId, taskId: data.taskId, state: s });
    let start;
    try {
      start = await client.start(data.token, ref, o.hostname, START_RETRY_MS);
    } catch (error) {
      if (error instanceof StaleTry) {
        log.info({ ...ref }, "a queued try was taken back or started elsewhere: dropped");
        return done("stale");
      }
      throw error; // the job fails; its scheduler schedules the task instance again
    }
    const token = { current: start.token ?? data.token };
    const masker = new Masker().add(...sensitiveSettings(config), ...(start.mask ?? []));
    const local = openFileTaskLog(
      {
        base: logging.base_log_folder,
        maxBytes: logging.max_bytes_per_try,
        // The worker's copy is short-lived (the webserver keeps the one users read): not worth a gzip.
        compress: false,
        masker,
        folder: logFolder,
        stamp: true,
      },
      {
        dag_id: ref.dagId,
        run_id: ref.runId,
        task_id: ref.taskId,
        map_index: ref.mapIndex,
        try_number: ref.tryNumber,
      } as never,
    );
    if (!start.workload) {
      for (const line of start.notes ?? []) local.write(line, "runner");
      await local.close().catch(() => undefined);
      return done(start.failure?.state ?? "failed");
    }
    const upload = new LogUpload(client, token, ref, log);
    const tee = {
      write(text: string | Buffer, stream: LogStream) {
        local.write(text, stream);
        upload.write(masker.mask(String(text)), stream);
      },
    };
    const controller = new AbortController();
    running.set(keyOf(ref), { ref, controller });
    void beat();
    const heartbeat = setInterval(() => {
      client.heartbeat(token.current, ref, o.hostname).then(
        (renewed) => {
          if (renewed) token.current = renewed;
        },
        (error: unknown) => {
          if (!(error instanceof StaleTry))
            return log.debug({ err: error, ...ref }, "a try's heartbeat failed");
          log.warn(
            { ...ref, detail: error.detail },
            "this try no longer owns its task instance: stopping it",
          );
          controller.abort("stale");
        },
      );
    }, heartbeatMs);
    let result: Result & { handOver?: boolean };
    let workloadRunner: WorkloadRunner | undefined;
    try {
      tee.write(
        `running try ${ref.tryNumber} of ${(start.maxTries ?? 0) + 1} of task "${ref.taskId}" (${start.workload.task.kind}) on ${o.hostname} (worker ${id})\n`,
        "runner",
      );
      const lookup = async (what: LookupKind, key: string) => {
        if (what === "external_states") return client.externalStates(token.current, key);
        if (what === "email_settings") return client.emailSettings(token.current);
        const found =
          what === "variable"
            ? await client.variable(token.current, key)
            : await client.connection(token.current, key);
        // What the try learns is masked in its log from now on.
        if (found && what === "variable" && (found as { is_secret?: boolean }).is_secret)
          masker.add((found as { value: string }).value);
        if (found && what === "connection") {
          const c = found as { password?: string | null; extra?: string | null; conn_type?: string | null };
          masker.add(c.password, ...sensitiveValues(c.extra ?? null, secretExtraKeys(c.conn_type)));
        }
        return found ?? null;
      };
      const setVariable = async (variable: VariableWrite) => {
        try {
          const written = await client.setVariable(token.current, variable);
          if (written.is_secret) masker.add(variable.value);
          return { shadowedBy: written.shadowed_by };
        } catch (error) {
          if (!(error instanceof StaleTry)) throw error;
          throw new Error(
            `this try no longer runs its task instance (cleared, replaced or ended): variable "${variable.key}" was not written`,
            { cause: error },
          );
        }
      };
      const dagRuns = {
        trigger: (r: TriggerRequest) => client.triggerRun(token.current, r),
        stateOf: (dagId: string, runId: string) => client.runState(token.current, dagId, runId),
      };
      workloadRunner = { ...runner, lookup, setVariable, dagRuns };
      result = await executeWorkload(workloadRunner, start.workload, tee, controller.signal);
    } catch (error) {
      result = { state: "failed", reason: (error as Error).message, retryable: true };
    } finally {
      clearInterval(heartbeat);
    }
    if (controller.signal.reason === SHUTDOWN && result.state === "failed")
      result = { ...result, handOver: true };
    try {
      const tail = await upload.finish();
      const finished = await client.finish(token.current, ref, { ...result, log: tail }, RESULT_RETRY_MS);
      for (const line of finished.notes) local.write(line, "runner");
      log.info({ ...ref, state: finished.state }, "try ended");
      // Callbacks once the outcome is recorded (the webserver accepted it), in this worker's pool;
      // what they say goes to this worker's copy of the log and, for failures, its service log.
      const plan = callbackPlan(start.workload.task, finished.state, result, result.handOver === true);
      if (plan && workloadRunner) await runTaskCallbacks(workloadRunner, start.workload, plan, local);
      return done(finished.state);
    } catch (error) {
      if (error instanceof StaleTry) {
        local.write("this try no longer owns its task instance: its result is not recorded\n", "runner");
        return done("stale");
      }
      throw error;
    } finally {
      running.delete(keyOf(ref));
      upload.stop();
      await local.close().catch(() => undefined);
      void beat();
    }
  }

  const workers = o.queues.map((queue) => {
    const worker = new Worker<TryJobData, TryJobResult>(bullQueueName(queue), processJob, {
      connection: bullConnection(settings, "worker"),
      prefix: settings.prefix,
      concurrency: o.concurrency,
      // A worker that stops renewing its jobs' locks (killed) has them failed by the stalled-job
      // check of the workers still alive, within about 1.5 worker timeouts.
      lockDuration: workerTimeoutMs,
      stalledInterval: Math.max(1000, workerTimeoutMs / 2),
      maxStalledCount: 0,
    });
    worker.on("error", () => undefined); // outages are logged by the connection (redis.ts)
    worker.on("failed", (job, error) =>
      log.warn({ err: error, jobId: job?.id, taskId: job?.data.taskId }, "a job failed"),
    );
    return worker;
  });
  log.info(
    {
      worker: id,
      hostname: o.hostname,
      queues: o.queues,
      concurrency: o.concurrency,
      redis: redactRedisUrl(settings.url),
      executionApi: client.baseUrl,
      dagsFolder: config.values.core.dags_folder,
    },
    "worker started: taking task tries",
  );
  await new Promise<void>((resolve) => {
    if (o.stop.aborted) resolve();
    else o.stop.addEventListener("abort", () => resolve(), { once: true });
  });
  state = "stopping";
  void beat();
  log.info({ running: running.size }, "worker stopping: no new tries; running tries may finish");
  const grace = (o.graceSeconds ?? config.values.scheduler.graceful_shutdown_timeout) * 1000;
  const handBack = setTimeout(() => {
    if (running.size > 0)
      log.warn({ running: running.size }, "grace period over: handing running tries back");
    for (const r of running.values()) r.controller.abort(SHUTDOWN);
  }, grace);
  handBack.unref();
  await Promise.all(workers.map((w) => w.close()));
  clearTimeout(handBack);
  clearInterval(beater);
  clearInterval(cleaner);
  await registry.leave(id).catch(() => undefined);
  await taskflow.close();
  redis.disconnect();
  log.info("worker stopped");
}

const keyOf = (r: TryRef) => `${r.dagId}\u0000${r.runId}\u0000${r.taskId}\u0000${r.mapIndex}`;

/** The worker's concurrency across all its queues (each queue's BullMQ worker has its own). */
class Slots {
  #free: number;
  readonly #waiting: (() => void)[] = [];
  constructor(n: number) {
    this.#free = n;
  }
  async take(): Promise<void> {
    if (this.#free > 0) {
      this.#free--;
      return;
    }
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }
  give(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#free++;
  }
}

/**
 * A try's log on its way to the webserver: pieces gather and go every UPLOAD_MS (or at
 * UPLOAD_BYTES), one request at a time, each with its offset so a piece sent again is written once.
 * While the API is away they wait (up to 16 MiB; past that the oldest are dropped, and the log says
 * so: the worker's own copy keeps them).
 */
class LogUpload {
  readonly #client: ExecutionClient;
  readonly #token: { current: string };
  readonly #ref: TryRef;
  readonly #log: Logger;
  #pieces: { stream: LogStream; text: string }[] = [];
  #bytes = 0;
  #offset = 0;
  #sending: Promise<void> | null = null;
  #timer: NodeJS.Timeout | null = null;
  #dropped = 0;
  /** Finished: what is written now is not uploaded (it would come after the result). */
  #closed = false;

  constructor(client: ExecutionClient, token: { current: string }, ref: TryRef, log: Logger) {
    this.#client = client;
    this.#token = token;
    this.#ref = ref;
    this.#log = log;
  }

  write(text: string, stream: LogStream): void {
    if (!text || this.#closed) return;
    this.#pieces.push({ stream, text });
    this.#bytes += Buffer.byteLength(text);
    while (this.#bytes > 16 * 1024 * 1024 && this.#pieces.length > 1) {
      const old = this.#pieces.shift()!;
      const n = Buffer.byteLength(old.text);
      this.#bytes -= n;
      this.#offset += n;
      this.#dropped += n;
    }
    if (this.#bytes >= UPLOAD_BYTES) this.#send();
    else this.#timer ??= setTimeout(() => this.#send(), UPLOAD_MS);
  }

  /**
   * For the result's request: waits for a piece on its way, then hands over what is left (with its
   * offset) instead of sending it on its own.
   */
  async finish(): Promise<{ offset: number; pieces: { stream: LogStream; text: string }[] }> {
    this.stop();
    const until = Date.now() + RESULT_RETRY_MS;
    while (this.#sending && Date.now() < until) await this.#sending;
    this.stop();
    const pieces = this.#pieces;
    if (this.#dropped > 0)
      pieces.unshift({
        stream: "runner",
        text: `${this.#dropped} bytes of this log could not be uploaded (the webserver was away); the worker's copy has them\n`,
      });
    this.#pieces = [];
    this.#bytes = 0;
    this.#closed = true;
    return { offset: this.#offset, pieces };
  }

  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #send(retryMs = 10_000): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#sending || this.#pieces.length === 0) return;
    if (this.#dropped > 0) {
      this.#pieces.unshift({
        stream: "runner",
        text: `${this.#dropped} bytes of this log could not be uploaded (the webserver was away); the worker's copy has them\n`,
      });
      this.#dropped = 0;
    }
    const pieces = this.#pieces;
    const bytes = this.#bytes;
    const offset = this.#offset;
    this.#pieces = [];
    this.#bytes = 0;
    this.#sending = this.#client
      .logs(this.#token.current, this.#ref, offset, pieces, retryMs)
      .then(
        () => {
          this.#offset = offset + pieces.reduce((n, p) => n + Buffer.byteLength(p.text), 0);
        },
        (error: unknown) => {
          const status = (error as { status?: number }).status;
          if (error instanceof StaleTry || (status !== undefined && status >= 400 && status < 500)) {
            // Refused for good (the try was replaced, or the request is wrong): sending it again
            // would be refused again. The worker's own copy keeps it.
            this.#offset = offset + bytes;
            if (!(error instanceof StaleTry))
              this.#log.warn(
                { err: error, ...this.#ref },
                "the webserver refused a piece of a try's log; dropped",
              );
            return;
          }
          // Put back in front: sent again (from the same offset) with what came meanwhile.
          this.#pieces = [...pieces, ...this.#pieces];
          this.#bytes += bytes;
          this.#log.debug({ err: error }, "uploading a try's log failed; retrying");
        },
      )
      .finally(() => {
        this.#sending = null;
        if (this.#pieces.length > 0) this.#timer ??= setTimeout(() => this.#send(), UPLOAD_MS);
      });
  }
}
