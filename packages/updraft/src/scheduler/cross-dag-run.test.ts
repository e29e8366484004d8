/**
 * Cross-DAG work run for real: triggerDagRun creates a run of another DAG (conf, run id and logical
 * date rendered), pushes trigger_run_id / trigger_logical_date, waits for it in its slot or deferred
 * on a DagRunTrigger, fails when it ends in failedStates, fails on an existing run id unless
 * resetDagRun; externalTaskMarker clears the external DAG's task with its downstream.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { clearTaskInstances } from "../operations/clear.ts";
import { triggerDagRun } from "../operations/trigger-run.ts";
import { dagRunStore } from "../storage/dag-runs.ts";
import { taskInstanceStore } from "../storage/task-instances.ts";
import { xcomStore } from "../storage/xcom.ts";
import { childUrl, forEachDatabase } from "../test-support/databases.ts";
import { dagsHome, type DagsHome } from "../test-support/dags-home.ts";
import { until } from "../test-support/service-process.ts";

const DAGS = {
  "child.ts": `import { dag, bash } from "updraft";
export default dag({ dagId: "child" }, () => {
  bash("work", { command: "echo got {{ dag_run.conf.msg }}" });
});`,
  "child_fail.ts": `import { dag, bash } from "updraft";
export default dag({ dagId: "child_fail" }, () => {
  bash("work", { command: "exit 1" });
});`,
  "parent.ts": `import { dag, triggerDagRun } from "updraft";
export default dag({ dagId: "parent" }, () => {
  triggerDagRun("go", {
    dagId: "child",
    conf: { msg: "from {{ run_id }}" },
    triggerRunId: "by_{{ run_id }}",
    logicalDate: "2026-03-01T00:00:00Z",
    waitForCompletion: true,
    pokeInterval: "100ms",
  });
});`,
  "parent_fail.ts": `import { dag, triggerDagRun } from "updraft";
export default dag({ dagId: "parent_fail" }, () => {
  triggerDagRun("go", { dagId: "child_fail", triggerRunId: "fail_{{ run_id }}", waitForCompletion: true, pokeInterval: "100ms" });
});`,
  "parent_fixed.ts": `import { dag, triggerDagRun } from "updraft";
export default dag({ dagId: "parent_fixed" }, () => {
  triggerDagRun("go", { dagId: "child", triggerRunId: "fixed", conf: { msg: "fixed" } });
  triggerDagRun("go_reset", { dagId: "child", triggerRunId: "fixed_reset", conf: { msg: "reset" }, resetDagRun: true });
});`,
  "parent_defer.ts": `import { dag, triggerDagRun } from "updraft";
export default dag({ dagId: "parent_defer" }, () => {
  triggerDagRun("go", { dagId: "child", triggerRunId: "deferred_{{ run_id }}", conf: { msg: "d" }, waitForCompletion: true, deferrable: true, pokeInterval: "200ms" });
});`,
  "parent_defer_fail.ts": `import { dag, triggerDagRun } from "updraft";
export default dag({ dagId: "parent_defer_fail" }, () => {
  triggerDagRun("go", { dagId: "child_fail", triggerRunId: "deferred_{{ run_id }}", waitForCompletion: true, deferrable: true, pokeInterval: "200ms" });
});`,
  "a.ts": `import { dag, bash, externalTaskMarker } from "updraft";
export default dag({ dagId: "a" }, () => {
  bash("load", { command: "true" }).before(externalTaskMarker("mark_a", { externalDagId: "b", externalTaskId: "wait" }));
});`,
  "b.ts": `import { dag, bash, externalTaskMarker } from "updraft";
export default dag({ dagId: "b" }, () => {
  bash("wait", { command: "true" })
    .before(bash("use", { command: "true" }))
    .before(externalTaskMarker("mark_b", { externalDagId: "c", externalTaskId: "end", logicalDate: "{{ data_interval_start }}" }));
  bash("other", { command: "true" });
});`,
  "c.ts": `import { dag, bash } from "updraft";
export default dag({ dagId: "c" }, () => {
  bash("start", { command: "true" }).before(bash("end", { command: "true" })).before(bash("after", { command: "true" }));
});`,
  "cyc1.ts": `import { dag, bash, externalTaskMarker } from "updraft";
export default dag({ dagId: "cyc1" }, () => {
  bash("t", { command: "true" }).before(externalTaskMarker("m1", { externalDagId: "cyc2", externalTaskId: "t", recursionDepth: 3 }));
});`,
  "cyc2.ts": `import { dag, bash, externalTaskMarker } from "updraft";
export default dag({ dagId: "cyc2" }, () => {
  bash("t", { command: "true" }).before(externalTaskMarker("m2", { externalDagId: "cyc1", externalTaskId: "t" }));
});`,
};

forEachDatabase("cross-DAG operators, run for real", (get) => {
  let h: DagsHome;
  before(async () => (h = await dagsHome(DAGS, { UPDRAFT__DATABASE__URL: childUrl(get()) })));
  after(() => h.close());

  const runOf = (dagId: string, runId: string) =>
    until(`run ${runId} of ${dagId}`, 20_000, () => dagRunStore(h.database).get(dagId, runId));

  test("triggerDagRun waits for the run it triggered, with its conf, run id and logical date rendered", async () => {
    const run = await triggerDagRun(h.database, { dagId: "parent" });
    const parent = h.drive(run);
    const child = await runOf("child", `by_${run.run_id}`);
    assert.equal(child.logical_date, "2026-03-01T00:00:00.000Z");
    assert.equal(child.triggered_by, "operator");
    assert.equal(await h.drive(child), "success");
    assert.equal(await parent, "success");
    assert.ok(h.log(child, "work").includes(`got from ${run.run_id}`), h.log(child, "work"));
    assert.match(h.log(run, "go"), /it is success/);
    const xcoms = xcomStore(h.database);
    assert.equal(await xcoms.pull(run.id, "go", "trigger_run_id"), `by_${run.run_id}`);
    assert.equal(await xcoms.pull(run.id, "go", "trigger_logical_date"), "2026-03-01T00:00:00.000Z");
  });

  test("a triggered run that ends in failedStates fails the task", async () => {
    const run = await triggerDagRun(h.database, { dagId: "parent_fail" });
    const parent = h.drive(run);
    const child = await runOf("child_fail", `fail_${run.run_id}`);
    assert.equal(await h.drive(child), "failed");
    assert.equal(await parent, "failed");
    assert.match(h.log(run, "go"), /ended failed, one of failedStates \["failed"\]/);
  });

  test("an existing run id fails the task; with resetDagRun the run is cleared and runs again", async () => {
    const first = await triggerDagRun(h.database, { dagId: "parent_fixed", runId: "one" });
    assert.equal(await h.drive(first), "success", h.log(first, "go") + h.log(first, "go_reset"));
    const reset = await runOf("child", "fixed_reset");
    assert.equal(await h.drive(reset), "success", h.log(reset, "work"));
    const second = await triggerDagRun(h.database, { dagId: "parent_fixed", runId: "two" });
    assert.equal(await h.drive(second), "failed");
    assert.deepEqual(await h.states(second), { go: "failed", go_reset: "success" });
    assert.match(h.log(second, "go"), /already has a run "fixed"/);
    const again = (await dagRunStore(h.database).get("child", "fixed_reset"))!;
    assert.equal(again.state, "queued", "the existing run was cleared: it runs again");
    assert.deepEqual(await h.states(again), { work: null });
  });

  test("deferrable: the task defers on a DagRunTrigger; the trigger's event ends it by the run's state", async () => {
    const run = await triggerDagRun(h.database, { dagId: "parent_defer" });
    // The test run runs the trigger in its own triggerer (as dag.test() does) while the child runs.
    const parent = h.drive(run);
    const ti = await until("the task to defer", 20_000, async () => {
      const row = await h.database.db
        .selectFrom("task_instance")
        .selectAll()
        .where("dag_run_id", "=", run.id)
        .executeTakeFirst();
      return row?.state === "deferred" ? row : undefined;
    });
    const trigger = await h.database.db
      .selectFrom("trigger")
      .selectAll()
      .where("id", "=", ti.trigger_id!)
      .executeTakeFirstOrThrow();
    assert.equal(trigger.classpath, "updraft.triggers.DagRunTrigger");
    assert.deepEqual(JSON.parse(trigger.kwargs), {
      dagId: "child",
      runId: `deferred_${run.run_id}`,
      states: ["success", "failed"],
      pokeInterval: 0.2,
    });
    assert.equal(await xcomStore(h.database).pull(run.id, "go", "trigger_run_id"), `deferred_${run.run_id}`);
    assert.equal(await h.drive(await runOf("child", `deferred_${run.run_id}`)), "success");
    assert.equal(await parent, "success");
    const resumed = await taskInstanceStore(h.database).listByRun(run.id);
    assert.deepEqual(
      resumed.map((t) => [t.task_id, t.state, t.try_number]),
      [["go", "success", 1]],
      "the same try resumed",
    );

    const other = await triggerDagRun(h.database, { dagId: "parent_defer_fail" });
    const failing = h.drive(other);
    assert.equal(await h.drive(await runOf("child_fail", `deferred_${other.run_id}`)), "failed");
    assert.equal(await failing, "failed");
    assert.match(h.log(other, "go"), /ended failed, one of failedStates \["failed"\]/);
  });

  test("clearing an ExternalTaskMarker clears the external task and its downstream, following markers", async () => {
    const at = new Date("2026-02-01T00:00:00Z");
    const runs = [];
    for (const dagId of ["a", "b", "c", "cyc1", "cyc2"])
      runs.push(await triggerDagRun(h.database, { dagId, logicalDate: at, runId: `r_${dagId}` }));
    for (const run of runs) assert.equal(await h.drive(run), "success");
    const names = (cs: { dagId: string; taskId: string }[]) => cs.map((c) => `${c.dagId}.${c.taskId}`).sort();
    const cleared = await clearTaskInstances(h.database, {
      dagId: "a",
      taskRegex: "^load$",
      downstream: true,
    });
    assert.deepEqual(names(cleared), [
      "a.load",
      "a.mark_a",
      "b.mark_b",
      "b.use",
      "b.wait",
      "c.after",
      "c.end",
    ]);
    const [, b, c] = runs;
    assert.deepEqual(await h.states(b!), { wait: null, use: null, mark_b: null, other: "success" });
    assert.deepEqual(await h.states(c!), { start: "success", end: null, after: null });
    assert.equal((await dagRunStore(h.database).get("c", "r_c"))!.state, "queued");
    // Without downstream the marker is not among the cleared: nothing else is.
    assert.deepEqual(names(await clearTaskInstances(h.database, { dagId: "b", taskRegex: "^other$" })), [
      "b.other",
    ]);
    // Markers pointing at each other: the first marker's recursionDepth stops the clear.
    await assert.rejects(
      clearTaskInstances(h.database, { dagId: "cyc1", taskRegex: "^t$", downstream: true, dryRun: true }),
      /Maximum recursion depth 3 reached for ExternalTaskMarker/,
    );
  });
});
