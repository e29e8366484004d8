/**
 * Cross-DAG work over the API, on runs driven for real: a trigger_dagrun task's "Triggered DAG"
 * extra link, a deferred task instance's trigger, and a clear that follows an ExternalTaskMarker into
 * another DAG (its task instances are in the answer).
 */
import { until } from "../../test-support/service-process.ts";
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { pino } from "pino";
import { driveRun } from "../../operations/test-run.ts";
import { dagRunAccess, triggerDagRun } from "../../operations/trigger-run.ts";
import { createTaskFlowPool, createTaskRunnerDeps } from "../../scheduler/runtime.ts";
import { forEachApiDatabase } from "../../test-support/api.ts";

const DAGS = {
  "parent.ts": `import { dag, bash, triggerDagRun } from "updraft";
export default dag({ dagId: "parent" }, () => {
  triggerDagRun("go", { dagId: "child", triggerRunId: "child_of_{{ run_id }}" }).before(bash("after", { command: "true" }));
});`,
  "child.ts": `import { dag, bash, externalTaskMarker } from "updraft";
export default dag({ dagId: "child" }, () => {
  bash("work", { command: "true" }).before(externalTaskMarker("mark", { externalDagId: "parent", externalTaskId: "after" }));
});`,
  "waiting.ts": `import { dag, defer, task, timeDeltaTrigger } from "updraft";
export default dag({ dagId: "waiting" }, () => {
  task("later", () => defer(timeDeltaTrigger("1h"), { timeout: "2h" }), { resume: () => "resumed" })();
});`,
};

forEachApiDatabase("cross-DAG work over the API", { dags: DAGS }, (get) => {
  const at = new Date("2025-05-01T00:00:00Z");

  before(async () => {
    const h = get();
    const log = pino({ level: "silent" });
    const pool = createTaskFlowPool(h.config);
    const deps = createTaskRunnerDeps(
      { config: h.config, database: h.database, log, dagRunAccess: dagRunAccess(h.database) },
      pool,
    );
    try {
      const parent = await triggerDagRun(h.database, { dagId: "parent", runId: "p", logicalDate: at });
      assert.equal(await driveRun(h.database, deps, parent, { log, parallelism: 2 }), "success");
      // A run of child with the parent run's logical date: its marker leads to parent's run "p".
      const child = await triggerDagRun(h.database, { dagId: "child", runId: "c", logicalDate: at });
      assert.equal(await driveRun(h.database, deps, child, { log, parallelism: 2 }), "success");
      const waiting = await triggerDagRun(h.database, { dagId: "waiting", runId: "w" });
      // Its trigger fires in an hour: driven until it is deferred, then left so.
      const stop = new AbortController();
      const driving = driveRun(h.database, deps, waiting, { log, parallelism: 1, signal: stop.signal });
      await until("the task to defer", 30_000, async () => {
        const ti = await h.database.db
          .selectFrom("task_instance")
          .select("state")
          .where("dag_run_id", "=", waiting.id)
          .executeTakeFirst();
        return ti?.state === "deferred" ? true : undefined;
      });
      stop.abort();
      assert.equal(await driving, "running");
      await triggerDagRun(h.database, { dagId: "parent", runId: "fresh" });
    } finally {
      await pool.close();
    }
  });

  test("a trigger_dagrun task links to the run it triggered; other tasks have no links", async () => {
    const h = get();
    const path = (runId: string, taskId: string) => ({
      dag_id: "parent",
      dag_run_id: runId,
      task_id: taskId,
    });
    const links = await h.call("get_extra_links", { path: path("p", "go") });
    assert.equal(links.status, 200);
    assert.deepEqual(links.body, {
      extra_links: { "Triggered DAG": "/dags/child?run=child_of_p" },
      total_entries: 1,
    });
    const before = await h.call("get_extra_links", { path: path("fresh", "go") });
    assert.deepEqual(before.body, { extra_links: { "Triggered DAG": null }, total_entries: 1 });
    const none = await h.call("get_extra_links", { path: path("p", "after") });
    assert.deepEqual(none.body, { extra_links: {}, total_entries: 0 });
    const xcom = await h.call("get_xcom_entry", {
      path: { ...path("p", "go"), xcom_key: "trigger_run_id" },
    });
    assert.equal(xcom.body.value, "child_of_p");
  });

  test("a deferred task instance shows the trigger it waits on", async () => {
    const h = get();
    const ti = await h.call("get_task_instance", {
      path: { dag_id: "waiting", dag_run_id: "w", task_id: "later" },
    });
    assert.equal(ti.status, 200);
    assert.equal(ti.body.state, "deferred");
    assert.equal(ti.body.trigger.classpath, "updraft.triggers.DateTimeTrigger");
    assert.match(JSON.parse(ti.body.trigger.kwargs).moment, /^\d{4}-\d\d-\d\dT/);
    assert.equal(ti.body.trigger.triggerer_id, null);
    assert.equal(ti.body.triggerer_job, null);
    assert.equal(ti.body.next_method, "resume");
    assert.ok(ti.body.trigger_timeout, "the wait's timeout");
    const list = await h.call("get_task_instances", { path: { dag_id: "waiting", dag_run_id: "w" } });
    assert.equal(list.body.task_instances[0].trigger.id, ti.body.trigger.id);
  });

  test("clearing through an ExternalTaskMarker clears the other DAG's task, in the answer too", async () => {
    const h = get();
    const cleared = await h.call("post_clear_task_instances", {
      path: { dag_id: "child" },
      body: {
        dag_run_id: "c",
        dry_run: false,
        only_failed: false,
        task_ids: ["work"],
        include_downstream: true,
      },
    });
    assert.equal(cleared.status, 200);
    assert.deepEqual(
      cleared.body.task_instances
        .map((t: { dag_id: string; task_id: string }) => `${t.dag_id}.${t.task_id}`)
        .sort(),
      ["child.mark", "child.work", "parent.after"],
    );
    const after = await h.call("get_task_instance", {
      path: { dag_id: "parent", dag_run_id: "p", task_id: "after" },
    });
    assert.equal(after.body.state, null);
    const go = await h.call("get_task_instance", {
      path: { dag_id: "parent", dag_run_id: "p", task_id: "go" },
    });
    assert.equal(go.body.state, "success", "upstream of the external task: not cleared");
  });
});
