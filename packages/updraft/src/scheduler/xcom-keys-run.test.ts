/** An XCom key a task reads but nobody pushed fails that task with the producer and key named (Airflow's XComNotFound). */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { pino } from "pino";
import { loadConfig, type Config } from "../config/load.ts";
import { processDagFiles } from "../dag-processing/processor.ts";
import { readTaskLog, taskLogPath } from "../logs/files.ts";
import { openDatabase, type Database } from "../storage/database.ts";
import { migrateDatabase } from "../storage/migrate.ts";
import { taskInstanceStore } from "../storage/task-instances.ts";
import { createTaskFlowPool, createTaskRunnerDeps } from "./runtime.ts";
import { driveRun } from "../operations/test-run.ts";
import { triggerDagRun } from "../operations/trigger-run.ts";

const DAG = `import { dag, task } from "updraft";
const produce = task("produce", () => ({ rows: 3 }));
const consume = task("consume", (value: unknown) => value);
const quiet = task("quiet", () => undefined);
export default dag({ dagId: "keys" }, () => {
  const out = produce();
  consume.override({ taskId: "wrong_key" })(out.key("row_count"));
  consume.override({ taskId: "whole" })(out);
  consume.override({ taskId: "from_quiet" })(quiet());
});`;

let home: string;
let config: Config;
let database: Database;
before(async () => {
  home = mkdtempSync(join(tmpdir(), "updraft-xcom-keys-"));
  mkdirSync(join(home, "dags"));
  writeFileSync(join(home, "dags", "keys.ts"), DAG);
  config = loadConfig({ env: { UPDRAFT_HOME: home, UPDRAFT__CORE__LOAD_EXAMPLES: "false" } });
  database = openDatabase(config.values.database.url);
  await migrateDatabase(database);
  assert.equal((await processDagFiles(config, database)).importErrors, 0);
});
after(async () => {
  await database.close();
  rmSync(home, { recursive: true, force: true });
});

test("a key never pushed fails its consumer, naming producer and key; a task that returned nothing gives nothing", async () => {
  const pool = createTaskFlowPool(config);
  const log = pino({ level: "silent" });
  try {
    const deps = createTaskRunnerDeps({ config, database, log }, pool);
    const run = await triggerDagRun(database, { dagId: "keys" });
    assert.equal(await driveRun(database, deps, run, { log, parallelism: 4 }), "failed");
    const states = Object.fromEntries(
      (await taskInstanceStore(database).listByRun(run.id)).map((t) => [t.task_id, t.state]),
    );
    assert.deepEqual(states, {
      produce: "success",
      wrong_key: "failed",
      whole: "success",
      quiet: "success",
      from_quiet: "success",
    });
    const text = readTaskLog(
      taskLogPath(config.values.logging.base_log_folder, {
        dag_id: "keys",
        run_id: run.run_id,
        task_id: "wrong_key",
        map_index: -1,
        try_number: 1,
      }),
    );
    assert.match(text ?? "", /XCom "row_count", which "produce" never pushed in this run/);
  } finally {
    await pool.close();
  }
});
