/**
 * A throwaway Updraft home with DAG files, migrated and parsed, for tests that run DAGs for real:
 * their tasks in real processes, driven to the end as `dags test` drives a run.
 */
import { dagRunAccess } from "../operations/trigger-run.ts";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { loadConfig, type Config } from "../config/load.ts";
import { processDagFiles } from "../dag-processing/processor.ts";
import { readTaskLog, taskLogPath } from "../logs/files.ts";
import { driveRun } from "../operations/test-run.ts";
import { createTaskFlowPool, createTaskRunnerDeps } from "../scheduler/runtime.ts";
import { createCipher, type SecretCipher } from "../secrets/cipher.ts";
import { openDatabase, type Database } from "../storage/database.ts";
import { migrateDatabase } from "../storage/migrate.ts";
import type { DagRunRow } from "../storage/schema.ts";
import { taskInstanceStore } from "../storage/task-instances.ts";

export interface DagsHome {
  config: Config;
  database: Database;
  /** The installation's cipher (its generated key): tasks read and write variables with it. */
  cipher: SecretCipher;
  /** A task runner with a TaskFlow pool of its own, kept until close(): its workers are reused. */
  runner(): { drive(run: DagRunRow, parallelism?: number): Promise<string>; close(): Promise<void> };
  /** Drives one run to its end with a runner of its own. */
  drive(run: DagRunRow, parallelism?: number): Promise<string>;
  /** The run's task instances' states, by task id. */
  states(run: DagRunRow): Promise<Record<string, string | null>>;
  /** A try's log text ("" when there is none); `mapIndex` for a mapped task's instance. */
  log(run: DagRunRow, taskId: string, tryNumber?: number, mapIndex?: number): string;
  close(): Promise<void>;
}

/** `files`: DAG file name -> source. `env`: settings on top of a home that loads no examples. */
export async function dagsHome(
  files: Record<string, string>,
  env: Record<string, string> = {},
): Promise<DagsHome> {
  const home = mkdtempSync(join(tmpdir(), "updraft-dags-home-"));
  mkdirSync(join(home, "dags"));
  for (const [name, source] of Object.entries(files)) writeFileSync(join(home, "dags", name), source);
  const config = loadConfig({ env: { UPDRAFT_HOME: home, UPDRAFT__CORE__LOAD_EXAMPLES: "false", ...env } });
  const database = openDatabase(config.values.database.url);
  await migrateDatabase(database);
  if ((await processDagFiles(config, database)).importErrors > 0) {
    const errors = await database.db.selectFrom("import_error").selectAll().execute();
    assert.fail(`the DAG files load: ${JSON.stringify(errors, null, 1)}`);
  }
  const log = pino({ level: process.env.DAGS_HOME_LOG ?? "silent" });
  const cipher = createCipher(config.values.security.encryption_key);
  const runner = () => {
    const pool = createTaskFlowPool(config);
    const deps = createTaskRunnerDeps(
      { config, database, log, cipher, dagRunAccess: dagRunAccess(database) },
      pool,
    );
    return {
      drive: (run: DagRunRow, parallelism = 4) => driveRun(database, deps, run, { log, parallelism }),
      close: () => pool.close(),
    };
  };
  return {
    config,
    database,
    cipher,
    runner,
    async drive(run, parallelism) {
      const r = runner();
      try {
        return await r.drive(run, parallelism);
      } finally {
        await r.close();
      }
    },
    async states(run) {
      const tis = await taskInstanceStore(database).listByRun(run.id);
      return Object.fromEntries(tis.map((t) => [t.task_id, t.state]));
    },
    log(run, taskId, tryNumber = 1, mapIndex = -1) {
      const path = taskLogPath(config.values.logging.base_log_folder, {
        dag_id: run.dag_id,
        run_id: run.run_id,
        task_id: taskId,
        map_index: mapIndex,
        try_number: tryNumber,
      });
      return readTaskLog(path) ?? "";
    },
    async close() {
      await database.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}
