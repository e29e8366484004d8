/** A TypeScript task's whole output reaches its log: console, process.stdout/stderr, and child processes that inherit stdio. */
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
import { createTaskFlowPool, createTaskRunnerDeps } from "./runtime.ts";
import { driveRun } from "../operations/test-run.ts";
import { triggerDagRun } from "../operations/trigger-run.ts";

const DAG = `import { execSync } from "node:child_process";
import { dag, task } from "updraft";
const talk = task("talk", () => {
  console.log("from console.log");
  process.stdout.write("from process.stdout\\n");
  process.stderr.write("from process.stderr\\n");
  execSync("echo from a child process; echo child error >&2", { stdio: "inherit" });
  return 1;
});
export default dag({ dagId: "talkative" }, () => {
  talk();
});`;

let home: string;
let config: Config;
let database: Database;
before(async () => {
  home = mkdtempSync(join(tmpdir(), "updraft-task-output-"));
  mkdirSync(join(home, "dags"));
  writeFileSync(join(home, "dags", "talkative.ts"), DAG);
  config = loadConfig({ env: { UPDRAFT_HOME: home, UPDRAFT__CORE__LOAD_EXAMPLES: "false" } });
  database = openDatabase(config.values.database.url);
  await migrateDatabase(database);
  assert.equal((await processDagFiles(config, database)).importErrors, 0);
});
after(async () => {
  await database.close();
  rmSync(home, { recursive: true, force: true });
});

test("console, process.stdout/stderr and an inheriting child process all reach the task's log", async () => {
  const pool = createTaskFlowPool(config);
  const log = pino({ level: "silent" });
  try {
    const run = await triggerDagRun(database, { dagId: "talkative" });
    assert.equal(
      await driveRun(database, createTaskRunnerDeps({ config, database, log }, pool), run, {
        log,
        parallelism: 1,
      }),
      "success",
    );
    const text =
      readTaskLog(
        taskLogPath(config.values.logging.base_log_folder, {
          dag_id: "talkative",
          run_id: run.run_id,
          task_id: "talk",
          map_index: -1,
          try_number: 1,
        }),
      ) ?? "";
    for (const line of [
      "from console.log",
      "from process.stdout",
      "from process.stderr",
      "from a child process",
      "child error",
    ])
      assert.match(text, new RegExp(`^${line}$`, "m"), `"${line}" is in the log:\n${text}`);
  } finally {
    await pool.close();
  }
});
