/** Setup and teardown tasks run for real: the teardown cleans up after failed work, and only the work decides the run. */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { clearTaskInstances } from "../operations/clear.ts";
import { triggerDagRun } from "../operations/trigger-run.ts";
import { dagsHome, type DagsHome } from "../test-support/dags-home.ts";

const DAG = `import { dag, bash, task } from "updraft";
export default dag({ dagId: "resources", params: { work: "0", drop: "0" } }, () => {
  const create = task("create", () => "cluster-1", { setup: true })();
  const work = bash("work", { command: "exit {{ params.work }}" });
  const report = bash("report", { command: "echo reported" });
  const drop = bash("drop", { command: "exit {{ params.drop }}" });
  create.before(work).before(report).before(drop.asTeardown({ setups: create }));
});`;

describe("setup and teardown, run for real", () => {
  let h: DagsHome;
  before(async () => (h = await dagsHome({ "resources.ts": DAG })));
  after(() => h.close());

  async function runWith(conf: { work: string; drop: string }) {
    const run = await triggerDagRun(h.database, { dagId: "resources", conf });
    const state = await h.drive(run);
    return { run, state, states: await h.states(run) };
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
    const { run, states } = await runWith({ work: "1", drop: "0" });
    assert.equal(states.work, "failed");
    const cleared = await clearTaskInstances(h.database, {
      dagId: "resources",
      runId: run.run_id,
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
