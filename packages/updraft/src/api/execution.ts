/**
 * The Task Execution API (Airflow 3's /execution/): how a worker on another machine runs a try without
 * any credential of the installation. Every call carries the try's token (secrets/try-tokens.ts),
 * scoped to one task instance and one try number; every write is fenced by that try in the database,
 * so a stale try (presumed dead, cleared, replaced) is refused with 409 and stops.
 *
 *   PATCH  /execution/task-instances/{dag}/{run}/{task}/{map}/run        start: the try's workload
 *   PUT    .../heartbeat                                                  alive; 409 = stop the try
 *   POST   .../logs                                                       the next piece of its log
 *   PATCH  .../state                                                      its result, recorded once
 *   GET    /execution/variables/{key}, /execution/connections/{conn_id}   read by the running try
 *   PUT    /execution/variables/{key}                                     written by it (setVariable)
 *   GET|POST /execution/xcoms/{dag}/{run}/{task}/{key}                    XCom of the try's run
 *   POST   /execution/dag-runs/{dag}                                     a trigger_dagrun try's run
 *   GET    /execution/dag-runs/{dag}/{run}/state                         the state of a run it waits on
 *
 * The database-side steps are the task runner's own (executor/run-task-instance.ts: prepareWorkload,
 * completeTry), so a try on a worker is recorded exactly as a local one.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { z } from "zod";
import type { Config } from "../config/load.ts";
import {
  completeTry,
  prepareWorkload,
  type Result,
  type TaskLog,
  type TaskRunnerDeps,
} from "../executor/run-task-instance.ts";
import type { Logger } from "../logging.ts";
import type { LogStream } from "../logs/writer.ts";
import type { SecretCipher } from "../secrets/cipher.ts";
import { tryTokenKey, tryTokens, type TryClaims } from "../secrets/try-tokens.ts";
import type { Database } from "../storage/database.ts";
import { nowIso } from "../storage/database.ts";
import type { TaskInstanceRow } from "../storage/schema.ts";
import { emailSettingsOf, externalStates, lookupForTask, writeVariableForTask } from "../executor/lookups.ts";
import { ConflictError } from "../core/errors.ts";
import { keyString, taskInstanceStore, type TryFence } from "../storage/task-instances.ts";
import { encodeXCom, xcomStore } from "../storage/xcom.ts";
import { HttpError } from "./errors.ts";
import { UpdraftError } from "../core/errors.ts";

export const EXECUTION_PREFIX = "/execution";
/** Airflow 3's header: a renewed token for the try, sent back on heartbeats. */
export const REFRESHED_TOKEN_HEADER = "refreshed-api-token";

export interface ExecutionApiOptions {
  config: Config;
  database: Database;
  log: Logger;
  cipher?: SecretCipher;
  /** The database's side of a try (scheduler/runtime.ts createTaskRunnerDeps). */
  runner: TaskRunnerDeps;
  clock?: () => number;
}

const AssetRefBody = z.object({
  uri: z.string().min(1).max(750),
  name: z.string().min(1).max(750),
  group: z.string().min(1).max(250),
  extra: z.record(z.string(), z.unknown()),
});
const OutletEventsBody = z.object({
  assets: z.array(z.object({ uri: z.string(), extra: z.record(z.string(), z.unknown()) })).max(10_000),
  aliases: z
    .array(z.object({ alias: z.string(), asset: AssetRefBody, extra: z.record(z.string(), z.unknown()) }))
    .max(10_000),
});

const ResultBody = z.union([
  z.object({
    state: z.literal("success"),
    value: z.unknown().optional(),
    /** What the task said about its asset events (outletEvents); the runner checks it against its outlets. */
    outletEvents: OutletEventsBody.optional(),
  }),
  z.object({ state: z.literal("skipped"), reason: z.string().max(10_000) }),
  z.object({
    state: z.literal("failed"),
    reason: z.string().max(10_000),
    retryable: z.boolean(),
    /** Stopped by its worker's shutdown, not failed by the task: it runs again, using no retry. */
    handOver: z.boolean().optional(),
  }),
  /** A reschedule-mode sensor that is not done yet: its next check at `at`. */
  z.object({ state: z.literal("up_for_reschedule"), at: z.iso.datetime() }),
  /** Waits on a trigger (storage/waits.ts). */
  z.object({
    state: z.literal("deferred"),
    trigger: z.object({
      classpath: z.string().min(1).max(1000),
      kwargs: z.record(z.string(), z.unknown()),
    }),
    timeout: z.number().min(0).nullable(),
  }),
]);

/** A trigger_dagrun try's run (executor/cross-dag.ts TriggerRequest, in the API's snake case). */
const TriggerRunBody = z.object({
  run_id: z.string().min(1).max(250).nullable(),
  logical_date: z.string().max(100).nullable(),
  conf: z.record(z.string(), z.unknown()),
  reset_dag_run: z.boolean(),
});

const LogBody = z.object({
  /** Bytes of this try's log the worker sent before this piece: a piece sent twice is written once. */
  offset: z.number().int().min(0),
  pieces: z.array(z.object({ stream: z.enum(["stdout", "stderr", "runner"]), text: z.string() })).max(10_000),
});

const VariableBody = z.object({
  value: z.string(),
  description: z.string().nullable().optional(),
});

const WorkerBody = z.object({
  hostname: z.string().min(1).max(255),
  pid: z.number().int().optional(),
});

export function registerExecutionApi(
  app: FastifyInstance,
  o: ExecutionApiOptions,
): { close(): Promise<void> } {
  const tokens = tryTokens(
    tryTokenKey(o.config.values.api.secret_key, o.config.values.security.encryption_key),
    o.config.values.execution_api.jwt_expiration_time,
  );
  const tis = taskInstanceStore(o.database);
  const logs = new UploadedLogs(o);
  const now = () => nowIso(o.clock);

  async function claimsOf(request: FastifyRequest): Promise<TryClaims> {
    const header = request.headers.authorization;
    const claims = header?.startsWith("Bearer ") ? await tokens.verify(header.slice(7).trim()) : null;
    if (!claims) throw new HttpError(401, "invalid or expired try token");
    return claims;
  }

  /** The try the path names, which must be the token's. */
  async function tryOf(request: FastifyRequest): Promise<{ claims: TryClaims; fence: TryFence }> {
    const claims = await claimsOf(request);
    const p = request.params as { dag: string; run: string; task: string; map: string };
    if (
      p.dag !== claims.dagId ||
      p.run !== claims.runId ||
      p.task !== claims.taskId ||
      Number(p.map) !== claims.mapIndex
    )
      throw new HttpError(403, "this token is for another task instance");
    const key = {
      dagId: claims.dagId,
      runId: claims.runId,
      taskId: claims.taskId,
      mapIndex: claims.mapIndex,
    };
    return { claims, fence: { key, tryNumber: claims.tryNumber, owner: null } };
  }

  /** The row while the token's try runs it; 409 (stop) otherwise. */
  async function runningRow(claims: TryClaims): Promise<TaskInstanceRow> {
    const row = await tis.get(claims);
    if (!row || row.try_number !== claims.tryNumber || !["running", "restarting"].includes(row.state ?? ""))
      throw stale(row);
    return row;
  }

  const ti = `${EXECUTION_PREFIX}/task-instances/:dag/:run/:task/:map`;

  app.get(`${EXECUTION_PREFIX}/health`, async () => ({ status: "ok" }));

  app.patch(`${ti}/run`, async (request) => {
    const { claims, fence } = await tryOf(request);
    const body = parse(WorkerBody, request.body);
    const started = now();
    const patch = {
      start_date: started,
      end_date: null,
      duration: null,
      hostname: body.hostname,
      pid: body.pid ?? null,
      last_heartbeat_at: started,
      next_retry_at: null,
    };
    const row = await startHandedTry(fence, claims.tryNumber, patch, started);
    try {
      const prepared = await prepareWorkload(o.runner, row, fence);
      const token = await tokens.issue(claims);
      if ("failure" in prepared) {
        // Nothing to run (the task left the DAG, a template failed): recorded here and now.
        const notes = await finish(row, fence, prepared, prepared.failure);
        return { token, workload: null, failure: prepared.failure, notes };
      }
      // The secrets its rendered fields and context hold (a template read a secret variable): the
      // worker masks them in its own copy of the log. Only those: it learns no other.
      const { fields, context } = prepared.workload;
      const mask = (await o.runner.secretsIn?.(JSON.stringify({ fields, context }))) ?? [];
      return { token, workload: prepared.workload, maxTries: row.max_tries, operator: row.operator, mask };
    } catch (error) {
      const failure: Result = { state: "failed", reason: (error as Error).message, retryable: true };
      const notes = await finish(row, fence, undefined, failure);
      return { token: null, workload: null, failure, notes };
    }
  });

  /**
   * queued (handed to its queue) -> running for the token's try. Its scheduler puts the job in Redis
   * and then hands the claim over, and a worker can be quicker than that: while the claim is still
   * its scheduler's, the worker is asked to come back in a moment (503). A claim handed over between
   * the refused start and the look at the row is started now. A scheduler that died before handing
   * over has its claim handed back (scheduled): then this start is refused (409).
   */
  async function startHandedTry(
    fence: TryFence,
    tryNumber: number,
    patch: Parameters<typeof tis.startTry>[2],
    at: string,
  ) {
    for (let attempt = 0; attempt < 3; attempt++) {
      const row = await tis.startTry(fence.key, null, patch, at, tryNumber);
      if (row) return row;
      const current = await tis.get(fence.key);
      const waiting = current?.state === "queued" && current.try_number === tryNumber - 1;
      if (!waiting) throw stale(current);
      if (current.claimed_by_job_id !== null)
        throw new HttpError(503, "the try is not handed to its queue yet; retry", { "retry-after": "1" });
    }
    throw new HttpError(503, "the try could not be started; retry", { "retry-after": "1" });
  }

  app.put(`${ti}/heartbeat`, async (request, reply) => {
    const { claims, fence } = await tryOf(request);
    const body = parse(WorkerBody, request.body);
    if (!(await tis.heartbeatTry(fence, { hostname: body.hostname }, now())))
      throw stale(await tis.get(fence.key));
    void reply.header(REFRESHED_TOKEN_HEADER, await tokens.issue(claims));
    return reply.code(204).send();
  });

  app.post(`${ti}/logs`, { bodyLimit: 4 * 1024 * 1024 }, async (request, reply) => {
    const { claims } = await tryOf(request);
    const body = parse(LogBody, request.body);
    const row = await runningRow(claims).catch(async (error) => {
      // The end of a finished try's log still arrives after its result: kept, not refused.
      const r = await tis.get(claims);
      if (r && r.try_number === claims.tryNumber) return r;
      throw error;
    });
    await logs.append(row, body.offset, body.pieces);
    return reply.code(204).send();
  });

  app.patch(`${ti}/state`, { bodyLimit: 4 * 1024 * 1024 }, async (request) => {
    const { fence } = await tryOf(request);
    const body = request.body as { log?: unknown } | undefined;
    const result = parse(ResultBody, body) as Result & { handOver?: boolean };
    const row = await tis.get(fence.key);
    if (!row || row.try_number !== fence.tryNumber) throw stale(row);
    // The end of its log comes with the result: one request instead of two.
    if (body?.log !== undefined) {
      const tail = parse(LogBody, body.log);
      await logs.append(row, tail.offset, tail.pieces);
    }
    const run = await o.runner.loadRun(row.dag_run_id);
    const dag = await o.runner.loadDag(row.dag_id, run.dag_hash);
    const task = dag.tasks.find((t) => t.taskId === row.task_id);
    const notes = await finish(
      row,
      fence,
      { dag, task },
      result,
      result.state === "failed" && result.handOver,
    );
    return { state: notes.recorded, notes: notes.lines };
  });

  /** Records a result; what the runner says about it goes to the try's log here and back to the worker. */
  async function finish(
    row: TaskInstanceRow,
    fence: TryFence,
    prepared: Parameters<typeof completeTry>[3],
    result: Result,
    handOver = false,
  ) {
    const lines: string[] = [];
    const log = await logs.open(row);
    const sink = {
      write(text: string, stream: LogStream) {
        lines.push(text);
        log.write(text, stream);
      },
    };
    const recorded = await completeTry(o.runner, row, fence, prepared, result, sink, handOver);
    const ended = `try ${row.try_number} ended: ${recorded}${"reason" in result ? ` (${result.reason})` : ""}\n`;
    sink.write(ended, "runner");
    await logs.close(row);
    return { recorded, lines };
  }

  /**
   * The token's try, running or ended (not replaced by a later try): reads are allowed to its
   * callbacks too, which run once its outcome is recorded (executor/task-callbacks.ts).
   */
  async function ownTry(claims: TryClaims): Promise<TaskInstanceRow> {
    const row = await tis.get(claims);
    if (!row || row.try_number !== claims.tryNumber) throw stale(row);
    return row;
  }

  for (const what of ["variable", "connection"] as const)
    app.get(`${EXECUTION_PREFIX}/${what}s/:key`, async (request) => {
      await ownTry(await claimsOf(request));
      const { key } = request.params as { key: string };
      const found = await lookupForTask(o.database, cipherOf(o), what, key);
      if (!found) throw new HttpError(404, `${what} "${key}" does not exist`);
      return found;
    });

  // sendEmail on a worker: the installation's email settings ([email], [smtp]; no secrets).
  app.get(`${EXECUTION_PREFIX}/email-settings`, async (request) => {
    await runningRow(await claimsOf(request));
    return emailSettingsOf(o.config);
  });

  // An externalTaskSensor's check on a worker: another DAG's states, read-only, for a running try.
  app.post(`${EXECUTION_PREFIX}/external-states`, async (request) => {
    await runningRow(await claimsOf(request));
    try {
      return await externalStates(o.database, JSON.stringify(request.body ?? {}));
    } catch (error) {
      throw new HttpError(400, (error as Error).message);
    }
  });

  // Fenced by the token's try in the write's own transaction (storage/variables.ts setForTry): a
  // stale try is refused with 409, as its other writes are.
  app.put(`${EXECUTION_PREFIX}/variables/:key`, { bodyLimit: 4 * 1024 * 1024 }, async (request) => {
    const claims = await claimsOf(request);
    const { key } = request.params as { key: string };
    const body = parse(VariableBody, request.body);
    const fence: TryFence = {
      key: { dagId: claims.dagId, runId: claims.runId, taskId: claims.taskId, mapIndex: claims.mapIndex },
      tryNumber: claims.tryNumber,
      owner: null,
    };
    try {
      const written = await writeVariableForTask(o.database, cipherOf(o), fence, { key, ...body });
      return { key, shadowed_by: written.shadowedBy, is_secret: written.secret };
    } catch (error) {
      if (error instanceof ConflictError) throw stale(await tis.get(fence.key));
      throw error;
    }
  });

  const xcomPath = `${EXECUTION_PREFIX}/xcoms/:dag/:run/:task/:key`;
  app.get(xcomPath, async (request) => {
    const claims = await claimsOf(request);
    const row = await runningRow(claims);
    const p = request.params as { dag: string; run: string; task: string; key: string };
    const { map_index } = request.query as { map_index?: string };
    if (p.dag !== claims.dagId || p.run !== claims.runId)
      throw new HttpError(403, "a try reads the XComs of its own DAG run");
    const value = await xcomStore(o.database).pull(row.dag_run_id, p.task, p.key, Number(map_index ?? -1));
    if (value === undefined) throw new HttpError(404, `no XCom "${p.key}" of task "${p.task}"`);
    return { key: p.key, value };
  });

  app.post(xcomPath, async (request, reply) => {
    const claims = await claimsOf(request);
    const row = await runningRow(claims);
    const p = request.params as { dag: string; run: string; task: string; key: string };
    if (p.dag !== claims.dagId || p.run !== claims.runId || p.task !== claims.taskId)
      throw new HttpError(403, "a try pushes XComs of its own task instance only");
    const { value } = parse(z.object({ value: z.unknown() }), request.body);
    const encoded = encodeXCom(value, o.config.values.core.xcom_max_size, `task "${p.task}"`);
    await xcomStore(o.database).push(
      {
        dagRunId: row.dag_run_id,
        dagId: row.dag_id,
        runId: row.run_id,
        taskId: row.task_id,
        mapIndex: row.map_index,
        key: p.key,
      },
      encoded,
      now(),
    );
    return reply.code(201).send({ key: p.key });
  });

  registerDagRunCalls(app, o, claimsOf, runningRow);
  return { close: () => logs.closeAll() };
}

/**
 * What a trigger_dagrun try on a worker asks of the installation's runs (Airflow 3's execution API
 * has the same calls): its trigger, fenced as its other calls by the token's running try, and the
 * state of the run it waits on. A refused trigger (no such DAG, an existing run id) is a 422 with the
 * reason, never a 409, which tells a worker its try is stale.
 */
function registerDagRunCalls(
  app: FastifyInstance,
  o: ExecutionApiOptions,
  claimsOf: (request: FastifyRequest) => Promise<TryClaims>,
  runningRow: (claims: TryClaims) => Promise<TaskInstanceRow>,
): void {
  app.post(`${EXECUTION_PREFIX}/dag-runs/:dag`, async (request) => {
    const claims = await claimsOf(request);
    await runningRow(claims);
    const access = o.runner.dagRunAccess;
    if (!access) throw new HttpError(501, "this API server cannot trigger runs");
    const body = parse(TriggerRunBody, request.body);
    const { dag } = request.params as { dag: string };
    const fence: TryFence = {
      key: { dagId: claims.dagId, runId: claims.runId, taskId: claims.taskId, mapIndex: claims.mapIndex },
      tryNumber: claims.tryNumber,
      owner: null,
    };
    try {
      const triggered = await access.trigger(fence, {
        dagId: dag,
        runId: body.run_id,
        logicalDate: body.logical_date,
        conf: body.conf,
        resetDagRun: body.reset_dag_run,
      });
      return { run_id: triggered.runId, logical_date: triggered.logicalDate };
    } catch (error) {
      if (error instanceof UpdraftError) throw new HttpError(422, error.message);
      throw error;
    }
  });

  app.get(`${EXECUTION_PREFIX}/dag-runs/:dag/:run/state`, async (request) => {
    await runningRow(await claimsOf(request));
    const { dag, run } = request.params as { dag: string; run: string };
    const state = await o.runner.dagRunAccess?.stateOf(dag, run);
    if (state === null || state === undefined) throw new HttpError(404, `dag "${dag}" has no run "${run}"`);
    return { state };
  });
}

function cipherOf(o: ExecutionApiOptions): SecretCipher {
  if (!o.cipher)
    throw new HttpError(503, "the webserver has no encryption key to read variables and connections with");
  return o.cipher;
}

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const r = schema.safeParse(body);
  if (!r.success)
    throw new HttpError(
      422,
      r.error.issues.map((i) => ({ loc: ["body", ...i.path], msg: i.message })),
    );
  return r.data;
}

/** 409: the token's try no longer owns its task instance; the worker stops it. */
function stale(row: TaskInstanceRow | undefined): HttpError {
  return new HttpError(409, {
    reason: "not_running",
    message: "this try no longer owns its task instance (cleared, replaced or ended): stop it",
    current_state: row?.state ?? null,
    current_try_number: row?.try_number ?? null,
  });
}

/**
 * Logs that workers upload: each try's file is kept open while pieces arrive, masked with the
 * installation's secrets (the worker masked what it knew; this catches the rest), under the logs
 * folder's caps as any log written here. A piece sent again after a lost answer is written once.
 */
class UploadedLogs {
  readonly #o: ExecutionApiOptions;
  readonly #open = new Map<string, { log: TaskLog; end: number; usedAt: number }>();
  readonly #timer: NodeJS.Timeout;

  constructor(o: ExecutionApiOptions) {
    this.#o = o;
    // A try whose worker died leaves its log open: closed after a quiet while.
    this.#timer = setInterval(() => void this.#closeIdle(), 60_000);
    this.#timer.unref();
  }

  async open(row: TaskInstanceRow): Promise<TaskLog> {
    const id = this.#id(row);
    let entry = this.#open.get(id);
    if (!entry) {
      entry = { log: await this.#o.runner.openLog(row), end: 0, usedAt: Date.now() };
      this.#open.set(id, entry);
    }
    entry.usedAt = Date.now();
    return entry.log;
  }

  async append(row: TaskInstanceRow, offset: number, pieces: { stream: LogStream; text: string }[]) {
    const log = await this.open(row);
    const entry = this.#open.get(this.#id(row))!;
    let at = offset;
    for (const piece of pieces) {
      const bytes = Buffer.byteLength(piece.text);
      if (at >= entry.end) log.write(piece.text, piece.stream);
      at += bytes;
    }
    entry.end = Math.max(entry.end, at);
  }

  async close(row: TaskInstanceRow): Promise<void> {
    const id = this.#id(row);
    const entry = this.#open.get(id);
    this.#open.delete(id);
    await entry?.log.close().catch(() => undefined);
  }

  async closeAll(): Promise<void> {
    clearInterval(this.#timer);
    const all = [...this.#open.values()];
    this.#open.clear();
    await Promise.all(all.map((e) => e.log.close().catch(() => undefined)));
  }

  async #closeIdle(): Promise<void> {
    for (const [id, entry] of this.#open)
      if (Date.now() - entry.usedAt > 5 * 60_000) {
        this.#open.delete(id);
        await entry.log.close().catch(() => undefined);
      }
  }

  #id(row: TaskInstanceRow): string {
    return `${keyString({ dagId: row.dag_id, runId: row.run_id, taskId: row.task_id, mapIndex: row.map_index })}#${row.try_number}`;
  }
}
