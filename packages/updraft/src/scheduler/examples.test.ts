/** Every bundled example DAG succeeds, run to the end by the task runner (as `dags test` does). */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { pino } from "pino";
import { loadConfig, type Config } from "../config/load.ts";
import { processDagFiles } from "../dag-processing/processor.ts";
import { createCipher } from "../secrets/cipher.ts";
import { openDatabase, type Database } from "../storage/database.ts";
import { dagStore } from "../storage/dags.ts";
import { migrateDatabase } from "../storage/migrate.ts";
import { createTaskFlowPool, createTaskRunnerDeps } from "./runtime.ts";
import { driveRun } from "../operations/test-run.ts";
import { triggerDagRun } from "../operations/trigger-run.ts";

describe("example DAGs", () => {
  let home: string;
  let config: Config;
  let database: Database;
  let dagIds: string[] = [];
  const taskflow = { pool: undefined as ReturnType<typeof createTaskFlowPool> | undefined };

  before(async () => {
    home = mkdtempSync(join(tmpdir(), "updraft-examples-"));
    config = loadConfig({ env: { UPDRAFT_HOME: home } });
    database = openDatabase(config.values.database.url);
    await migrateDatabase(database);
    const summary = await processDagFiles(config, database);
    assert.equal(summary.importErrors, 0, JSON.stringify(await dagStore(database).importErrors()));
    dagIds = (await dagStore(database).list()).map((d) => d.dag_id);
    taskflow.pool = createTaskFlowPool(config);
  });
  after(async () => {
    await taskflow.pool?.close();
    await database.close();
    rmSync(home, { recursive: true, force: true });
  });

  test("there are examples, one idea each", () => {
    assert.ok(dagIds.length >= 8, dagIds.join(", "));
  });

  test("each one's run succeeds", async () => {
    const log = pino({ level: "silent" });
    const deps = createTaskRunnerDeps(
      { config, database, log, cipher: createCipher(config.values.security.encryption_key) },
      taskflow.pool!,
    );
    const outcomes: Record<string, string> = {};
    for (const dagId of dagIds) {
      const run = await triggerDagRun(database, { dagId, logicalDate: new Date("2025-03-04T00:00:00Z") });
      outcomes[dagId] = await driveRun(database, deps, run, { log, parallelism: 8 });
    }
    assert.deepEqual(outcomes, Object.fromEntries(dagIds.map((id) => [id, "success"])));
  });
});
