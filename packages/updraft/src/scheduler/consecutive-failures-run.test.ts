/**
 * maxConsecutiveFailedDagRuns (Airflow's max_consecutive_failed_dag_runs), run for real: a DAG whose
 * latest runs failed that many times in a row is paused; a success in between resets the count, and
 * a DAG without the option is never paused for failing.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { pino } from "pino";
import { loadConfig, type Config } from "../config/load.ts";
import { processDagFiles } from "../dag-processing/processor.ts";
import { dagStore } from "../storage/dags.ts";
import { openDatabase, type Database } from "../storage/database.ts";
import { migrateDatabase } from "../storage/migrate.ts";
import { createTaskFlowPool, createTaskRunnerDeps } from "./runtime.ts";
import { driveRun } from "../operations/test-run.ts";
import { triggerDagRun } from "../operations/trigger-run.ts";

const dagFile = (dagId: string, option: string) => `import { dag, bash } from "updraft";
export default dag({ dagId: "${dagId}", params: { code: "1" }${option} }, () => {
  bash("work", { command: "exit {{ params.code }}" });
});`;

let home: string;
let config: Config;
let database: Database;
before(async () => {
  home = mkdtempSync(join(tmpdir(), "updraft-consecutive-"));
  mkdirSync(join(home, "dags"));
  writeFileSync(join(home, "dags", "fragile.ts"), dagFile("fragile", ", maxConsecutiveFailedDagRuns: 2"));
  writeFileSync(join(home, "dags", "sturdy.ts"), dagFile("sturdy", ""));
  config = loadConfig({
    env: {
      UPDRAFT_HOME: home,
      UPDRAFT__CORE__LOAD_EXAMPLES: "false",
      UPDRAFT__CORE__DAGS_ARE_PAUSED_AT_CREATION: "false",
    },
  });
  database = openDatabase(config.values.database.url);
  await migrateDatabase(database);
  assert.equal((await processDagFiles(config, database)).importErrors, 0);
});
after(async () => {
  await database.close();
  rmSync(home, { recursive: true, force: true });
});

async function runOnce(dagId: string, code: string) {
  const pool = createTaskFlowPool(config);
  const log = pino({ level: "silent" });
  try {
    const run = await triggerDagRun(database, { dagId, conf: { code } });
    return await driveRun(database, createTaskRunnerDeps({ config, database, log }, pool), run, {
      log,
      parallelism: 2,
    });
  } finally {
    await pool.close();
  }
}

const paused = async (dagId: string) => (await dagStore(database).get(dagId))!.is_paused === 1;

test("two failures in a row pause the DAG; a success between them does not", async () => {
  assert.equal(await runOnce("fragile", "1"), "failed");
  assert.equal(await runOnce("fragile", "0"), "success");
  assert.equal(await runOnce("fragile", "1"), "failed");
  assert.equal(await paused("fragile"), false, "failed, succeeded, failed: not two in a row");
  assert.equal(await runOnce("fragile", "1"), "failed");
  assert.equal(await paused("fragile"), true, "the latest two runs failed");
  assert.equal(
    (await dagStore(database).get("fragile"))!.max_consecutive_failed_dag_runs,
    2,
    "as the API shows it",
  );
});

test("without the option (configuration default 0) a DAG is never paused for failing", async () => {
  for (let i = 0; i < 3; i++) assert.equal(await runOnce("sturdy", "1"), "failed");
  assert.equal(await paused("sturdy"), false);
});
