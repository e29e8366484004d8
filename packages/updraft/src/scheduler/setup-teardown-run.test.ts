/** Setup and teardown tasks run for real: the teardown cleans up after failed work, and only the work decides the run. */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { pino } from "pino";
import { loadConfig, type Config } from "../config/load.ts";
import { processDagFiles } from "../dag-processing/processor.ts";
import { openDatabase, type Database } from "../storage/database.ts";
import { migrateDatabase } from "../storage/migrate.ts";
import { taskInstanceStore } from "../storage/task-instances.ts";
import { createTaskFlowPool, createTaskRunnerDeps } from "./runtime.ts";
import { driveRun } from "../operations/test-run.ts";
import { triggerDagRun } from "../operations/trigger-run.ts";
import { clearTaskInstances } from "../operations/clear.ts";

const DAG = `import { dag, bash, task } from "updraft";
export default dag({ dagId: "resources", params: { work: "0", drop: "0" } }, () => {
  const create = task("create", () => "cluster-1", { setup: true })();
  const work = bash("work", { command: "exit {{ params.work }}" });
  const report = bash("report", { command: "echo reported" });
  const drop = bash("drop", { command: "exit {{ params.drop }}" });
  create.before(work).before(report).before(drop.asTeardown({ setups: create }));
});`;

describe("setup and teardown, run for real", () => {
  let home: string;
  let config: Config;
  let database: Database;
  before(async () => {
    home = mkdtempSync(join(tmpdir(), "updraft-setup-teardown-"));
    mkdirSync(join(home, "dags"));
    writeFileSync(join(home, "dags", "resources.ts"), DAG);
    config = loadConfig({ env: { UPDRAFT_HOME: home, UPDRAFT__CORE__LOAD_EXAMPLES: "false" } });
    database = openDatabase(config.values.database.url);
    await migrateDatabase(database);
    assert.equal((await processDagFiles(config, database)).importErrors, 0);
  });
  after(async () => {
    await database.close();
    rmSync(home, { recursive: true, force: true });
  });

  async function runWith(conf: { work: string; drop: string }) {
    const pool = createTaskFlowPool(config);
    const log = pino({ level: "silent" });
    try {
      const deps = createTaskRunnerDeps({ config, database, log }, pool);
      const run = await triggerDagRun(database, { dagId: "resources", conf });
      const state = await driveRun(database, deps, run, { log, parallelism: 4 });
      const states = Object.fromEntries(
        (await taskInstanceStore(database).listByRun(run.id)).map((t) => [t.task_id, t.state]),
      );
      return { state, states };
    } finally {
      await pool.close();
    }
  }

  test("the work fails: the teardown still runs, and the run fails", async () => {
    const { state, states } = await runWith({ work: "1", drop: "0" });
    assert.deepEqual(states, {
      create: "success",
      work: "failed",
      report: "upstream_failed",
      drop: "success",
    });
    assert.equal(state, "failed");
  });

  test("clearing the work clears its setup and teardown, and only those", async () => {
    const { states } = await runWith({ work: "1", drop: "0" });
    assert.equal(states.work, "failed");
    const runs = await database.db
      .selectFrom("dag_run")
      .select("run_id")
      .where("dag_id", "=", "resources")
      .orderBy("id", "desc")
      .execute();
    const cleared = await clearTaskInstances(database, {
      dagId: "resources",
      runId: runs[0]!.run_id,
      taskRegex: "^work$",
      dryRun: true,
    });
    assert.deepEqual(cleared.map((c) => c.taskId).sort(), ["create", "drop", "work"]);
  });

  test("the work succeeds and the teardown fails: the run succeeds", async () => {
    const { state, states } = await runWith({ work: "0", drop: "1" });
    assert.deepEqual(states, { create: "success", work: "success", report: "success", drop: "failed" });
    assert.equal(state, "success");
  });
});
