/**
 * XCom keys run for real: a multipleOutputs task pushes each key of its result (and the whole), and a
 * key a task reads but nobody pushed fails that task with the producer and key named (Airflow's
 * XComNotFound).
 */
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
import { xcomStore } from "../storage/xcom.ts";
import { createTaskFlowPool, createTaskRunnerDeps } from "./runtime.ts";
import { driveRun } from "../operations/test-run.ts";
import { triggerDagRun } from "../operations/trigger-run.ts";

const DAG = `import { dag, task } from "updraft";
const produce = task("produce", () => ({ rows: 3 }));
const consume = task("consume", (value: unknown) => value);
const quiet = task("quiet", () => undefined);
const report = task("report", () => ({ rows: 3, tables: ["a", "b"] }), { multipleOutputs: true });
const notAnObject = task("not_an_object", () => [1, 2], { multipleOutputs: true });
export default dag({ dagId: "keys" }, () => {
  const out = produce();
  const stats = report();
  consume.override({ taskId: "rows" })(stats.key<number>("rows"));
  consume.override({ taskId: "tables" })(stats.key<string[]>("tables"));
  notAnObject();
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
    const logOf = (taskId: string) =>
      readTaskLog(
        taskLogPath(config.values.logging.base_log_folder, {
          dag_id: "keys",
          run_id: run.run_id,
          task_id: taskId,
          map_index: -1,
          try_number: 1,
        }),
      ) ?? "";
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
      report: "success",
      rows: "success",
      tables: "success",
      not_an_object: "failed",
    });
    const xcoms = xcomStore(database);
    assert.equal(await xcoms.pull(run.id, "report", "rows"), 3, "each key is an XCom of its own");
    assert.deepEqual(
      await xcoms.pull(run.id, "report"),
      { rows: 3, tables: ["a", "b"] },
      "and the whole as return_value",
    );
    assert.deepEqual(
      await xcoms.pull(run.id, "tables"),
      ["a", "b"],
      "a consumer of a key gets that key's value",
    );
    assert.equal(await xcoms.pull(run.id, "rows"), 3);
    assert.match(
      logOf("not_an_object"),
      /multipleOutputs: true, so it must return an object \(each key becomes an XCom\), got an array/,
    );
    assert.match(logOf("wrong_key"), /XCom "row_count", which "produce" never pushed in this run/);
  } finally {
    await pool.close();
  }
});
