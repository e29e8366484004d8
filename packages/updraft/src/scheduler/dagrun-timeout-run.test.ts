/**
 * dagrunTimeout in `dags test` behaves as in the scheduler (Airflow: the run fails, its running tasks
 * are stopped and its unfinished ones skipped), instead of waiting for a long task to end.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startTestRun } from "../operations/test-run.ts";
import { dagsHome, type DagsHome } from "../test-support/dags-home.ts";

const DAG = `import { dag, bash } from "updraft";
export default dag({ dagId: "slow", dagrunTimeout: "2s" }, () => {
  bash("long", { command: "sleep 60" }).before(bash("after", { command: "echo never" }));
});`;

let h: DagsHome;
before(async () => (h = await dagsHome({ "slow.ts": DAG })));
after(() => h.close());

test("a dags test run past its dagrunTimeout fails at once: the running task is stopped, the rest skipped", async () => {
  const run = await startTestRun(h.database, {
    dagId: "slow",
    logicalDate: new Date("2025-01-01T00:00:00Z"),
  });
  const began = Date.now();
  const state = await h.drive(run, 2);
  const seconds = (Date.now() - began) / 1000;
  assert.equal(state, "failed");
  assert.ok(seconds < 20, `the run ended after ${seconds} s, not when its 60 s task would have`);
  const tasks = await h.states(run);
  assert.notEqual(tasks.long, "success");
  assert.equal(tasks.after, "skipped");
});
