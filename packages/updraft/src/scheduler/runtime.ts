/**
 * Assembling a running scheduler from configuration: the TaskFlow pool, the local executor with the
 * task runner, and the scheduler loop. Template rendering and task logs are passed in (their owners
 * are the templates and logs modules).
 */
import type { Config } from "../config/load.ts";
import { SerializedDagSchema, type SerializedDag } from "../core/serialized.ts";
import { resolveFileloc } from "../dag-processing/discover.ts";
import { LocalExecutor } from "../executor/local-executor.ts";
import { runTaskInstance, type TaskRunnerDeps } from "../executor/run-task-instance.ts";
import type { Logger } from "../logging.ts";
import { TaskFlowPool } from "../runner/taskflow-pool.ts";
import type { Database } from "../storage/database.ts";
import { Scheduler } from "./scheduler.ts";

export interface RuntimeOptions {
  config: Config;
  database: Database;
  log: Logger;
  render: TaskRunnerDeps["render"];
  openLog: TaskRunnerDeps["openLog"];
  clock?: () => number;
  /** Overrides for tests. */
  loopIntervalMs?: number;
  heartbeatTimeout?: number;
  gracefulShutdownMs?: number;
}

export function createScheduler(o: RuntimeOptions): {
  scheduler: Scheduler;
  taskflow: TaskFlowPool;
  close(): Promise<void>;
} {
  const core = o.config.values.core;
  const taskflow = new TaskFlowPool({
    maxWorkers: Math.max(1, Math.min(core.parallelism, 8)),
    defaultMemoryLimit: 512,
  });
  const deps: TaskRunnerDeps = {
    database: o.database,
    taskflow,
    resolveFile: (fileloc) => resolveFileloc(fileloc, core.dags_folder),
    loadDag: cachedDagLoader(o.database),
    render: o.render,
    openLog: o.openLog,
    xcomMaxSize: core.xcom_max_size,
    clock: o.clock,
  };
  const executor = new LocalExecutor({
    parallelism: core.parallelism,
    run: (ti, signal) => runTaskInstance(deps, ti, signal),
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
    loopIntervalMs: o.loopIntervalMs ?? 1000,
    parallelism: core.parallelism,
    heartbeatTimeout: o.heartbeatTimeout ?? 30,
    gracefulShutdownMs: o.gracefulShutdownMs ?? 30_000,
    clock: o.clock,
  });
  return { scheduler, taskflow, close: () => taskflow.close() };
}

/** Serialized DAGs by hash: a run keeps reading the version it was created with. */
function cachedDagLoader(database: Database): TaskRunnerDeps["loadDag"] {
  const cache = new Map<string, SerializedDag>();
  return async (dagId, dagHash) => {
    const hit = dagHash ? cache.get(dagHash) : undefined;
    if (hit) return hit;
    const row = await database.db
      .selectFrom("serialized_dag")
      .select(["data", "dag_hash"])
      .where("dag_id", "=", dagId)
      .executeTakeFirstOrThrow();
    const dag = SerializedDagSchema.parse(JSON.parse(row.data));
    if (cache.size > 200) cache.clear();
    cache.set(row.dag_hash, dag);
    return dag;
  };
}
