/**
 * Assembling a running scheduler from configuration: the TaskFlow pool, the local executor with the
 * task runner, and the scheduler loop. Template rendering and task logs are passed in (their owners
 * are the templates and logs modules).
 */
import { createHash } from "node:crypto";
import type { DagRunAccess } from "../executor/cross-dag.ts";
import type { Config } from "../config/load.ts";
import type { SchedulerMetrics } from "../metrics/metrics.ts";
import { SerializedDagSchema, type SerializedDag } from "../core/serialized.ts";
import { resolveFileloc } from "../dag-processing/discover.ts";
import { LocalExecutor } from "../executor/local-executor.ts";
import { BullMQExecutor } from "../executor/bullmq/executor.ts";
import type { Executor } from "../executor/executor.ts";
import { tryTokenKey, tryTokens } from "../secrets/try-tokens.ts";
import { runTaskInstance, type TaskRunnerDeps } from "../executor/run-task-instance.ts";
import type { Logger } from "../logging.ts";
import { TaskFlowPool, type TaskFlowRunner } from "../runner/taskflow-pool.ts";
import type { Database } from "../storage/database.ts";
import type { DagRunRow, TaskInstanceRow } from "../storage/schema.ts";
import { Scheduler } from "./scheduler.ts";
import type { SecretCipher } from "../secrets/cipher.ts";
import { connectionStore } from "../storage/connections.ts";
import { variableStore } from "../storage/variables.ts";
import { xcomStore } from "../storage/xcom.ts";
import {
  buildContext,
  loadLookups,
  lookupNeeds,
  renderFields,
  triggeringAssetEvents,
} from "../executor/task-context.ts";
import { eventsOfRun } from "../storage/assets.ts";
import { openFileTaskLog } from "../executor/task-log.ts";
import { emailSettingsOf, externalStates, lookupForTask, writeVariableForTask } from "../executor/lookups.ts";
import type { LogFolder } from "../logs/folder.ts";
import { Masker } from "../logs/masker.ts";
import { sensitiveValues } from "../core/sensitive.ts";
import { secretExtraKeys } from "../connections/types.ts";
import { listProviders } from "../providers/providers.ts";

export interface RuntimeOptions {
  config: Config;
  database: Database;
  log: Logger;
  /** Default: task-context.ts with variables and connections from the database. */
  render?: TaskRunnerDeps["render"];
  /** Default: a file per try under [logging] base_log_folder. */
  openLog?: TaskRunnerDeps["openLog"];
  /** With the default task logs: the folder's total cap (the services keep it clean). */
  logFolder?: LogFolder;
  /** With the default task logs: every line written, masked, also given here (the CLI prints it). */
  logEcho?: (ti: TaskInstanceRow, text: string) => void;
  cipher?: SecretCipher;
  clock?: () => number;
  metrics?: SchedulerMetrics;
  /** How trigger_dagrun tasks reach other DAGs' runs (operations/trigger-run.ts dagRunAccess). */
  dagRunAccess?: DagRunAccess;
  /** Overrides for tests. */
  loopIntervalMs?: number;
  heartbeatTimeout?: number;
  gracefulShutdownMs?: number;
}

/**
 * The task runner's dependencies. Without a TaskFlow pool (the webserver, which records tries that
 * workers run and runs none itself), running a TypeScript task here is refused.
 */
export function createTaskRunnerDeps(
  o: RuntimeOptions,
  taskflow: TaskFlowRunner = NO_TASKFLOW,
): TaskRunnerDeps {
  const core = o.config.values.core;
  const secrets = new LogSecrets(o);
  return {
    database: o.database,
    taskflow,
    resolveFile: (fileloc) => resolveFileloc(fileloc, core.dags_folder),
    loadDag: cachedDagLoader(o.database),
    fileVersion: cachedFileVersion(o.database),
    loadRun: memoFor(1000, (id: number) =>
      o.database.db.selectFrom("dag_run").selectAll().where("id", "=", id).executeTakeFirstOrThrow(),
    ),
    render: o.render ?? defaultRender(o.database, o.cipher, secrets),
    openLog: o.openLog ?? fileLogs(o, o.logEcho, secrets),
    xcomMaxSize: core.xcom_max_size,
    callbackTimeout: core.callback_timeout,
    maxMapLength: core.max_map_length,
    lookup: databaseLookup(o.database, o.cipher, o.config),
    writeVariable: async (fence, variable) => {
      if (!o.cipher) throw new Error("no encryption key is configured to write variables with");
      const written = await writeVariableForTask(o.database, o.cipher, fence, variable);
      // A secret the task wrote is masked from now on, in its log too.
      if (written.secret) secrets.add([variable.value]);
      return { shadowedBy: written.shadowedBy };
    },
    secretsIn: async (text) => (await secrets.current()).found(text),
    dagRunAccess: o.dagRunAccess,
    defaultImpersonation: core.default_impersonation,
    clock: o.clock,
    warn: (fields, message) => o.log.warn(fields, message),
    onTryEnded: o.metrics
      ? ({ state, operator, seconds }) => o.metrics!.taskDurationSeconds.observe({ state, operator }, seconds)
      : undefined,
  };
}

/** getVariable / getConnection of tasks run here: from the database (stored secrets are masked in logs already). */
function databaseLookup(
  database: Database,
  cipher: SecretCipher | undefined,
  config: Config,
): TaskRunnerDeps["lookup"] {
  return async (what, key) => {
    if (what === "email_settings") return emailSettingsOf(config);
    // External states hold no secrets: read without a key.
    if (what === "external_states") return externalStates(database, key);
    if (!cipher) throw new Error(`no encryption key is configured to read ${what}s with`);
    return lookupForTask(database, cipher, what, key);
  };
}

const NO_TASKFLOW = {
  run: async () => ({ state: "failed", reason: "this process runs no tasks", retryable: false }),
  close: async () => undefined,
} satisfies TaskFlowRunner;

export function createTaskFlowPool(config: Config): TaskFlowPool {
  const { scheduler, core } = config.values;
  return new TaskFlowPool({
    maxWorkers: Math.max(1, Math.min(core.parallelism, scheduler.taskflow_workers)),
    defaultMemoryLimit: scheduler.default_task_memory_limit,
    spareWorkers: scheduler.taskflow_spare_workers,
  });
}

export function createScheduler(o: RuntimeOptions): {
  scheduler: Scheduler;
  taskflow: TaskFlowPool;
  close(): Promise<void>;
} {
  const core = o.config.values.core;
  const taskflow = createTaskFlowPool(o.config);
  const deps = createTaskRunnerDeps(o, taskflow);
  const executor: Executor =
    core.executor === "bullmq"
      ? new BullMQExecutor({
          config: o.config,
          database: o.database,
          log: o.log,
          clock: o.clock,
          tokens: tryTokens(
            tryTokenKey(o.config.values.api.secret_key, o.config.values.security.encryption_key),
            o.config.values.execution_api.jwt_expiration_time,
          ),
        })
      : new LocalExecutor({
          parallelism: core.parallelism,
          run: (ti, signal, recorded) => runTaskInstance(deps, ti, signal, recorded),
          onError: (error, ti) =>
            o.log.error(
              { err: error, dagId: ti.dagId, runId: ti.runId, taskId: ti.taskId },
              "the task runner failed",
            ),
        });
  const scheduler = new Scheduler({
    database: o.database,
    executor,
    log: o.log,
    loopIntervalMs: o.loopIntervalMs ?? o.config.values.scheduler.loop_interval * 1000,
    parallelism: core.parallelism,
    heartbeatTimeout: o.heartbeatTimeout ?? o.config.values.scheduler.task_heartbeat_timeout,
    gracefulShutdownMs: o.gracefulShutdownMs ?? o.config.values.scheduler.graceful_shutdown_timeout * 1000,
    clock: o.clock,
    metrics: o.metrics,
    maxMapLength: core.max_map_length,
  });
  return { scheduler, taskflow, close: () => taskflow.close() };
}

/**
 * Serialized DAGs by hash: a run keeps reading the version it was created with. The promise is
 * cached, so a thousand tasks starting at once share one parse instead of making a thousand copies.
 */
function cachedDagLoader(database: Database): TaskRunnerDeps["loadDag"] {
  const byHash = new Map<string, Promise<SerializedDag>>();
  const load = async (dagId: string) => {
    const row = await database.db
      .selectFrom("serialized_dag")
      .select(["data"])
      .where("dag_id", "=", dagId)
      .executeTakeFirstOrThrow();
    return { dag: SerializedDagSchema.parse(JSON.parse(row.data)) };
  };
  return async (dagId, dagHash) => {
    const hit = dagHash ? byHash.get(dagHash) : undefined;
    if (hit) return hit;
    const loading = load(dagId).then((l) => l.dag);
    if (byHash.size > 200) byHash.clear();
    if (dagHash) {
      byHash.set(dagHash, loading);
      loading.catch(() => byHash.delete(dagHash));
    }
    return loading;
  };
}

/**
 * Remembers `load`'s answers for `ms`: a thousand tasks of one run starting together share one read.
 * A failed load is forgotten at once.
 */
function memoFor<A, V>(
  ms: number,
  load: (arg: A) => Promise<V>,
  keyOf: (arg: A) => unknown = (arg) => arg,
): (arg: A) => Promise<V> {
  const cache = new Map<unknown, { at: number; value: Promise<V> }>();
  return (arg) => {
    const key = keyOf(arg);
    const now = Date.now();
    const hit = cache.get(key);
    if (hit && now - hit.at < ms) return hit.value;
    if (cache.size > 1000) for (const [k, v] of cache) if (now - v.at >= ms) cache.delete(k);
    const value = load(arg);
    cache.set(key, { at: now, value });
    value.catch(() => cache.delete(key));
    return value;
  };
}

/** DAG file versions, re-read at most once a second. */
function cachedFileVersion(database: Database): TaskRunnerDeps["fileVersion"] {
  return memoFor(1000, (fileloc: string) =>
    database.db
      .selectFrom("dag_file")
      .select("content_hash")
      .where("fileloc", "=", fileloc)
      .executeTakeFirst()
      .then((f) => (f?.content_hash ?? "0").slice(0, 16)),
  );
}

function defaultRender(
  database: Database,
  cipher: SecretCipher | undefined,
  secrets: LogSecrets,
): TaskRunnerDeps["render"] {
  // The previous success of a run changes rarely; its tasks starting together share one read.
  const previousOf = memoFor(
    1000,
    (run: DagRunRow) => previousSuccess(database, run),
    (run) => run.id,
  );
  return async ({ dag, task, run, ti }) => {
    const needs = lookupNeeds(task.templateFields);
    if ((needs.variables || needs.connections) && !cipher)
      throw new Error("templates read variables or connections, but no encryption key is configured");
    const lookups = await loadLookups(needs, {
      // What this try resolves is masked in its log whatever the reload timer says.
      variables: async () => {
        const list = await variableStore(database, cipher!).list();
        secrets.add(list.filter((v) => v.isSecret).map((v) => v.value));
        return list;
      },
      connections: async () => {
        const list = await connectionStore(database, cipher!).list();
        secrets.add(
          list.flatMap((c) => [c.password, ...sensitiveValues(c.extra, secretExtraKeys(c.connType))]),
        );
        return list;
      },
    });
    // TypeScript tasks may read any context value, so they always get the previous success too.
    if (needs.previousSuccess || task.kind !== "bash") lookups.previousSuccess = await previousOf(run);
    if (run.run_type === "asset_triggered")
      lookups.triggeringAssetEvents = triggeringAssetEvents(await eventsOfRun(database.db, run.id));
    // What `ti.xcom_pull` names, and (for an id not written out) the direct upstream tasks and its own.
    if (needs.xcomTasks)
      lookups.xcoms = await xcomStore(database).ofTasks(run.id, [
        ...needs.xcomTasks,
        ...task.upstream,
        task.taskId,
      ]);
    const context = buildContext(dag, task, run, ti, lookups);
    const fields = renderFields(task.templateFields, context, `task "${task.taskId}"`);
    // Whole (macros, var and conn too): the task runner makes what a TypeScript task gets of it.
    return { fields, context };
  };
}

/** The DAG's latest successful run before this one (Airflow's prev_*_success). */
async function previousSuccess(database: Database, run: DagRunRow) {
  if (run.logical_date === null) return null;
  const prev = await database.db
    .selectFrom("dag_run")
    .select(["data_interval_start", "data_interval_end", "start_date", "end_date"])
    .where("dag_id", "=", run.dag_id)
    .where("state", "=", "success")
    .where("logical_date", "<", run.logical_date)
    .orderBy("logical_date", "desc")
    .limit(1)
    .executeTakeFirst();
  return prev ?? null;
}

/** Task logs as files, each try's masking the installation's secrets (see LogSecrets). */
export function fileLogs(
  o: Pick<RuntimeOptions, "config" | "database" | "cipher" | "logFolder">,
  echo?: (ti: TaskInstanceRow, text: string) => void,
  secrets = new LogSecrets(o),
): TaskRunnerDeps["openLog"] {
  const logging = o.config.values.logging;
  return async (ti) =>
    openFileTaskLog(
      {
        base: logging.base_log_folder,
        maxBytes: logging.max_bytes_per_try,
        compress: logging.compress_finished,
        folder: o.logFolder,
        masker: await secrets.current(),
        echo: echo && ((text: string) => echo(ti, text)),
        stamp: true,
      },
      ti,
    );
}

/**
 * What task logs mask: the installation's sensitive settings (keys, the database URL and its
 * password), secret variables, connection passwords and sensitive extras. A try's start looks (at
 * most once a second) whether they changed, and re-reads them when they did; a value a try's templates resolve is added as it is resolved, so a secret
 * created a moment before the run is masked too (a try's log holds the masker it opened with, and
 * rendering adds to that same masker).
 */
export class LogSecrets {
  readonly #o: Pick<RuntimeOptions, "config" | "database" | "cipher">;
  #masker: Masker;
  #checkedAt = 0;
  #fingerprint = "";

  constructor(o: Pick<RuntimeOptions, "config" | "database" | "cipher">) {
    this.#o = o;
    this.#masker = this.#fresh();
  }

  async current(): Promise<Masker> {
    if (!this.#o.cipher || Date.now() - this.#checkedAt < CHANGE_CHECK_MS) return this.#masker;
    this.#checkedAt = Date.now();
    // Decrypting every secret is the costly part: only when what is stored has changed.
    const stored = await storedSecretsFingerprint(this.#o.database);
    if (stored === this.#fingerprint) return this.#masker;
    const masker = this.#fresh();
    // Connection types of provider packages declare secret extras too (providers/providers.ts).
    await listProviders(this.#o.config.values.core.dags_folder).catch(() => undefined);
    for (const v of await variableStore(this.#o.database, this.#o.cipher).list())
      if (v.isSecret) masker.add(v.value);
    for (const c of await connectionStore(this.#o.database, this.#o.cipher).list())
      masker.add(c.password, ...sensitiveValues(c.extra, secretExtraKeys(c.connType)));
    this.#masker = masker;
    this.#fingerprint = stored;
    return this.#masker;
  }

  /** Values a try resolved (its templates' secret variables and connections): masked from now on. */
  add(values: (string | null | undefined)[]): void {
    this.#masker.add(...values);
  }

  #fresh(): Masker {
    return new Masker().add(...sensitiveSettings(this.#o.config));
  }
}

/** How often a try's start looks whether stored secrets changed (one cheap read per interval). */
const CHANGE_CHECK_MS = 1000;

/**
 * A digest of the stored secrets as stored (ciphertext: a new nonce on every write), so any change
 * (a new, changed or deleted variable or connection) changes it, without decrypting anything.
 */
async function storedSecretsFingerprint(database: Database): Promise<string> {
  const hash = createHash("sha256");
  const variables = await database.db
    .selectFrom("variable")
    .select(["key", "val"])
    .where("is_encrypted", "=", 1)
    .orderBy("key")
    .execute();
  for (const v of variables) hash.update(`v\u0000${v.key}\u0000${v.val ?? ""}\u0000`);
  const connections = await database.db
    .selectFrom("connection")
    .select(["conn_id", "password", "extra"])
    .orderBy("conn_id")
    .execute();
  for (const c of connections)
    hash.update(`c\u0000${c.conn_id}\u0000${c.password ?? ""}\u0000${c.extra ?? ""}\u0000`);
  return hash.digest("base64url");
}

/** The values of the sensitive options, and the password inside the database URL. */
export function sensitiveSettings(config: Pick<Config, "entries">): string[] {
  const values: string[] = [];
  for (const e of config.entries) {
    if (!e.sensitive || typeof e.value !== "string" || !e.value) continue;
    values.push(e.value);
    try {
      const password = new URL(e.value).password;
      if (password) values.push(password, decodeURIComponent(password));
    } catch {
      // Not a URL: the value itself is enough.
    }
  }
  return values;
}
