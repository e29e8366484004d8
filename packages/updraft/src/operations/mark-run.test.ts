/**
 * Marking a run failed or success by hand while it has setup and teardown tasks, run for real on
 * each database: the teardown of a setup that ran still runs (Airflow 3), and the run ends as marked
 * once it is done; a teardown whose setup never ran is marked with the rest.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { dagRunStore } from "../storage/dag-runs.ts";
import type { DagRunRow } from "../storage/schema.ts";
import { taskInstanceStore } from "../storage/task-instances.ts";
import { childUrl, forEachDatabase } from "../test-support/databases.ts";
import { dagsHome, type DagsHome } from "../test-support/dags-home.ts";
import { until } from "../test-support/service-process.ts";
import { clearTaskInstances } from "./clear.ts";
import { markRun } from "./mark-run.ts";
import { triggerDagRun } from "./trigger-run.ts";

// The work waits for a file named after its run, so a test marks the run while it runs.
const DAG = (dir: string) => `import { dag, bash } from "updraft";
export default dag({ dagId: "cluster" }, () => {
  const create = bash("create", { command: "echo created", setup: true });
  const work = bash("work", { command: 'for i in $(seq 600); do [ -f "${dir}/{{ run_id }}.go" ] && exit 0; sleep 0.05; done; exit 1' });
  const report = bash("report", { command: "echo reported" });
  const drop = bash("drop", { command: "echo dropped" });
  create.before(work).before(report).before(drop.asTeardown({ setups: create }));
});`;

forEachDatabase("marking a run with setup and teardown tasks", (get) => {
  let h: DagsHome;
  const dir = mkdtempSync(join(tmpdir(), "updraft-mark-"));
  before(async () => {
    h = await dagsHome({ "cluster.ts": DAG(dir) }, { UPDRAFT__DATABASE__URL: childUrl(get()) });
  });
  after(async () => {
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const runRow = (run: DagRunRow) =>
    dagRunStore(h.database)
      .get(run.dag_id, run.run_id)
      .then((r) => r!);

  /** Drives `runId` until its work runs, marks it `state`, lets the work's try end; the run's end. */
  async function markWhileWorking(runId: string, state: "success" | "failed") {
    const run = await triggerDagRun(h.database, { dagId: "cluster", runId });
    const driving = h.drive(run);
    await until("the work to run", 20_000, async () =>
      (await h.states(run)).work === "running" ? true : undefined,
    );
    const marked = await markRun(h.database, await runRow(run), state);
    const right = await runRow(run);
    const states = await h.states(run);
    writeFileSync(join(dir, `${runId}.go`), ""); // the work's stopped try ends (its result is refused)
    return { run, marked, right, states, ended: await driving };
  }

  test("marked failed while the work runs: the work fails, the teardown still runs, the run ends failed", async () => {
    const { run, marked, right, states, ended } = await markWhileWorking("failed_mid", "failed");
    assert.deepEqual(
      marked.map((m) => [m.taskId, m.from, m.to]),
      [
        ["report", "none", "skipped"],
        ["work", "running", "failed"],
      ],
    );
    // The run goes on for its teardown, and knows how it ends.
    assert.deepEqual([right.state, right.marked_state], ["running", "failed"]);
    assert.equal(states.drop, null);
    // Its only leaf (report) was skipped, which alone would make a success: it ends as marked.
    assert.equal(ended, "failed");
    assert.deepEqual(await h.states(run), {
      create: "success",
      work: "failed",
      report: "skipped",
      drop: "success",
    });
    assert.match(h.log(run, "drop"), /dropped/);
  });

  test("marked success while the work runs: the teardown still runs, the run ends success", async () => {
    const { run, right, ended } = await markWhileWorking("success_mid", "success");
    assert.deepEqual([right.state, right.marked_state], ["running", "success"]);
    assert.equal(ended, "success");
    assert.deepEqual(await h.states(run), {
      create: "success",
      work: "success",
      report: "success",
      drop: "success",
    });
    assert.match(h.log(run, "drop"), /dropped/);
  });

  test("a teardown whose setup never ran is marked with the rest, and the run ends at once", async () => {
    const run = await triggerDagRun(h.database, { dagId: "cluster", runId: "never" });
    await dagRunStore(h.database).transition(run.id, "queued", "running");
    const marked = await markRun(h.database, await runRow(run), "failed");
    assert.deepEqual(marked.map((m) => [m.taskId, m.to]).sort(), [
      ["create", "skipped"],
      ["drop", "skipped"],
      ["report", "skipped"],
      ["work", "skipped"],
    ]);
    const right = await runRow(run);
    assert.deepEqual([right.state, right.marked_state], ["failed", null]);
  });

  test("a setup stopped by the mark: its teardown does not run either", async () => {
    const run = await triggerDagRun(h.database, { dagId: "cluster", runId: "setup_running" });
    await dagRunStore(h.database).transition(run.id, "queued", "running");
    const tis = taskInstanceStore(h.database);
    const key = { dagId: "cluster", runId: "setup_running", taskId: "create", mapIndex: -1 };
    for (const [from, to] of [
      ["none", "scheduled"],
      ["scheduled", "queued"],
      ["queued", "running"],
    ] as const)
      assert.ok(await tis.transition(key, from, to));
    await markRun(h.database, await runRow(run), "failed");
    assert.deepEqual(await h.states(run), {
      create: "failed",
      work: "skipped",
      report: "skipped",
      drop: "skipped",
    });
    assert.equal((await runRow(run)).state, "failed");
  });

  test("a run queued again after a mark decides its own outcome", async () => {
    const run = await triggerDagRun(h.database, { dagId: "cluster", runId: "cleared" });
    const runs = dagRunStore(h.database);
    await runs.transition(run.id, "queued", "running");
    await runs.transition(run.id, "running", "running", { marked_state: "failed" });
    const key = { dagId: "cluster", runId: "cleared", taskId: "create", mapIndex: -1 };
    assert.ok(await taskInstanceStore(h.database).transition(key, "none", "success", {}, undefined, "user"));
    await clearTaskInstances(h.database, { dagId: "cluster", runId: "cleared", taskRegex: "^create$" });
    const right = await runRow(run);
    assert.deepEqual([right.state, right.marked_state], ["queued", null]);
  });
});
