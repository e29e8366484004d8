/**
 * dagrunTimeout in `dags test` behaves as in the scheduler (Airflow: the run fails, its running tasks
 * are stopped and its unfinished ones skipped), instead of waiting for a long task to end.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { pino } from "pino";
import { loadConfig, type Config } from "../config/load.ts";
import { processDagFiles } from "../dag-processing/processor.ts";
import { openDatabase, type Database } from "../storage/database.ts";
import { migrateDatabase } from "../storage/migrate.ts";
import { taskInstanceStore } from "../storage/task-instances.ts";
import { createTaskFlowPool, createTaskRunnerDeps } from "./runtime.ts";
import { driveRun, startTestRun } from "../operations/test-run.ts";

const DAG = `import { dag, bash } from "updraft";
export default dag({ dagId: "slow", dagrunTimeout: "2s" }, () => {
  bash("long", { command: "sleep 60" }).before(bash("after", { command: "echo never" }));
});`;

let home: string;
let config: Config;
let database: Database;
before(async () => {
  home = mkdtempSync(join(tmpdir(), "updraft-dagrun-timeout-"));
  mkdirSync(join(home, "dags"));
  writeFileSync(join(home, "dags", "slow.ts"), DAG);
  config = loadConfig({ env: { UPDRAFT_HOME: home, UPDRAFT__CORE__LOAD_EXAMPLES: "false" } });
  database = openDatabase(config.values.database.url);
  await migrateDatabase(database);
  assert.equal((await processDagFiles(config, database)).importErrors, 0);
});
after(async () => {
  await database.close();
  rmSync(home, { recursive: true, force: true });
});

test("a dags test run past its dagrunTimeout fails at once: the running task is stopped, the rest skipped", async () => {
  const pool = createTaskFlowPool(config);
  const log = pino({ level: "silent" });
  try {
    const run = await startTestRun(database, {
      dagId: "slow",
      logicalDate: new Date("2025-01-01T00:00:00Z"),
    });
    const began = Date.now();
    const state = await driveRun(database, createTaskRunnerDeps({ config, database, log }, pool), run, {
      log,
      parallelism: 2,
    });
    const seconds = (Date.now() - began) / 1000;
    assert.equal(state, "failed");
    assert.ok(seconds < 20, `the run ended after ${seconds} s, not when its 60 s task would have`);
    const tasks = Object.fromEntries(
      (await taskInstanceStore(database).listByRun(run.id)).map((t) => [t.task_id, t.state]),
    );
    assert.notEqual(tasks.long, "success");
    assert.equal(tasks.after, "skipped");
  } finally {
    await pool.close();
  }
});
