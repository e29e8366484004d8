/**
 * latestOnly run for real (Airflow's LatestOnlyOperator): in the latest scheduled run and in a run
 * triggered by hand the tasks after it run; in a run that catches up they are skipped, and a task
 * after them that runs whatever happened (all_done) still runs.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { triggerDagRun } from "../operations/trigger-run.ts";
import { dagRunStore } from "../storage/dag-runs.ts";
import { dagStore } from "../storage/dags.ts";
import type { DagRunRow } from "../storage/schema.ts";
import { dagsHome, type DagsHome } from "../test-support/dags-home.ts";

const DAG = `import { dag, bash, cronDataIntervalTimetable, latestOnly } from "updraft";
export default dag({ dagId: "latest", schedule: cronDataIntervalTimetable("@daily"), startDate: "2024-01-01" }, () => {
  const gate = latestOnly("latest_only");
  const notify = bash("notify", { command: "echo notified" });
  const always = bash("always", { command: "echo always", triggerRule: "all_done" });
  gate.before(notify).before(always);
});`;

const DAY = 86_400_000;
let h: DagsHome;
before(async () => (h = await dagsHome({ "latest.ts": DAG })));
after(() => h.close());

/** A scheduled run of the daily interval that starts `daysAgo` days before today (UTC). */
async function scheduledRun(daysAgo: number) {
  const today = Math.floor(Date.now() / DAY) * DAY;
  const start = new Date(today - daysAgo * DAY).toISOString();
  const end = new Date(today - (daysAgo - 1) * DAY).toISOString();
  const dag = (await dagStore(h.database).getSerialized("latest"))!;
  return dagRunStore(h.database).create({
    dag,
    runId: `scheduled__${start}`,
    runType: "scheduled",
    logicalDate: start,
    dataIntervalStart: start,
    dataIntervalEnd: end,
    runAfter: end,
  });
}

async function statesAfter(run: DagRunRow) {
  const state = await h.drive(run);
  return { state, tasks: await h.states(run) };
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
  const run = await triggerDagRun(h.database, {
    dagId: "latest",
    logicalDate: new Date("2024-03-01T00:00:00.000Z"),
  });
  const { tasks } = await statesAfter(run);
  assert.deepEqual(tasks, { latest_only: "success", notify: "success", always: "success" });
});
