/**
 * latestOnly run for real (Airflow's LatestOnlyOperator): in the latest scheduled run and in a run
 * triggered by hand the tasks after it run; in a run that catches up they are skipped, and a task
 * after them that runs whatever happened (all_done) still runs.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { pino } from "pino";
import { loadConfig, type Config } from "../config/load.ts";
import { processDagFiles } from "../dag-processing/processor.ts";
import { dagRunStore } from "../storage/dag-runs.ts";
import { dagStore } from "../storage/dags.ts";
import { openDatabase, type Database } from "../storage/database.ts";
import { migrateDatabase } from "../storage/migrate.ts";
import { taskInstanceStore } from "../storage/task-instances.ts";
import { createTaskRunnerDeps, createTaskFlowPool } from "./runtime.ts";
import { driveRun } from "../operations/test-run.ts";
import { triggerDagRun } from "../operations/trigger-run.ts";

const DAG = `import { dag, bash, latestOnly } from "updraft";
export default dag({ dagId: "latest", schedule: "@daily", startDate: "2024-01-01" }, () => {
  const gate = latestOnly("latest_only");
  const notify = bash("notify", { command: "echo notified" });
  const always = bash("always", { command: "echo always", triggerRule: "all_done" });
  gate.before(notify).before(always);
});`;

const DAY = 86_400_000;
let home: string;
let config: Config;
let database: Database;
before(async () => {
  home = mkdtempSync(join(tmpdir(), "updraft-latest-only-"));
  mkdirSync(join(home, "dags"));
  writeFileSync(join(home, "dags", "latest.ts"), DAG);
  config = loadConfig({ env: { UPDRAFT_HOME: home, UPDRAFT__CORE__LOAD_EXAMPLES: "false" } });
  database = openDatabase(config.values.database.url);
  await migrateDatabase(database);
  assert.equal((await processDagFiles(config, database)).importErrors, 0);
});
after(async () => {
  await database.close();
  rmSync(home, { recursive: true, force: true });
});

/** A scheduled run of the daily interval that starts `daysAgo` days before today (UTC). */
async function scheduledRun(daysAgo: number) {
  const today = Math.floor(Date.now() / DAY) * DAY;
  const start = new Date(today - daysAgo * DAY).toISOString();
  const end = new Date(today - (daysAgo - 1) * DAY).toISOString();
  const dag = (await dagStore(database).getSerialized("latest"))!;
  return dagRunStore(database).create({
    dag,
    runId: `scheduled__${start}`,
    runType: "scheduled",
    logicalDate: start,
    dataIntervalStart: start,
    dataIntervalEnd: end,
    runAfter: end,
  });
}

async function statesAfter(run: Awaited<ReturnType<typeof scheduledRun>>) {
  const pool = createTaskFlowPool(config);
  const log = pino({ level: "silent" });
  try {
    const state = await driveRun(database, createTaskRunnerDeps({ config, database, log }, pool), run, {
      log,
      parallelism: 4,
    });
    const tis = await taskInstanceStore(database).listByRun(run.id);
    return { state, tasks: Object.fromEntries(tis.map((t) => [t.task_id, t.state])) };
  } finally {
    await pool.close();
  }
}

test("the latest scheduled run goes on", async () => {
  // Its interval ended at midnight: now lies in the interval after it.
  const { state, tasks } = await statesAfter(await scheduledRun(1));
  assert.deepEqual(tasks, { latest_only: "success", notify: "success", always: "success" });
  assert.equal(state, "success");
});

test("a run catching up skips the tasks after it; all_done still runs", async () => {
  const { state, tasks } = await statesAfter(await scheduledRun(5));
  assert.deepEqual(tasks, { latest_only: "success", notify: "skipped", always: "success" });
  assert.equal(state, "success");
});

test("a run triggered by hand goes on", async () => {
  const run = await triggerDagRun(database, {
    dagId: "latest",
    logicalDate: new Date("2024-03-01T00:00:00.000Z"),
  });
  const { tasks } = await statesAfter(run);
  assert.deepEqual(tasks, { latest_only: "success", notify: "success", always: "success" });
});
