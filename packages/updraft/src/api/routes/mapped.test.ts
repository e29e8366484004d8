/**
 * Mapped task instances over the API (Airflow's listMapped and /{map_index} paths), on a DAG run for
 * real; every answer is checked against Airflow's spec by the harness.
 */
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { pino } from "pino";
import { driveRun } from "../../operations/test-run.ts";
import { triggerDagRun } from "../../operations/trigger-run.ts";
import { createTaskFlowPool, createTaskRunnerDeps } from "../../scheduler/runtime.ts";
import { forEachApiDatabase } from "../../test-support/api.ts";

const DAG = `import { dag, task } from "updraft";
export default dag({ dagId: "mapped_api" }, () => {
  const files = task("files", () => ["a.csv", "b.csv", "c.csv"]);
  const load = task("load", (file: string) => file.length, { mapIndexTemplate: "{{ item }}" });
  const count = task("count", (sizes: number[]) => sizes.length);
  count(load.expand(files()));
});`;

forEachApiDatabase("mapped task instances over the API", { dags: { "mapped_api.ts": DAG } }, (get) => {
  const path = (taskId: string) => ({ dag_id: "mapped_api", dag_run_id: "r1", task_id: taskId });

  before(async () => {
    const h = get();
    const log = pino({ level: "silent" });
    const pool = createTaskFlowPool(h.config);
    const deps = createTaskRunnerDeps({ config: h.config, database: h.database, log }, pool);
    const run = await triggerDagRun(h.database, { dagId: "mapped_api", runId: "r1" });
    assert.equal(await driveRun(h.database, deps, run, { log, parallelism: 2 }), "success");
    await pool.close();
  });

  test("listMapped lists a mapped task's instances with their labels, filtered and ordered", async () => {
    const h = get();
    const all = await h.call("get_mapped_task_instances", { path: path("load") });
    assert.equal(all.status, 200);
    assert.equal(all.body.total_entries, 3);
    assert.deepEqual(
      all.body.task_instances.map((t: { map_index: number; rendered_map_index: string; state: string }) => [
        t.map_index,
        t.rendered_map_index,
        t.state,
      ]),
      [
        [0, "a.csv", "success"],
        [1, "b.csv", "success"],
        [2, "c.csv", "success"],
      ],
    );
    // Instances added by the expansion have their run's DAG version, as the placeholder had.
    for (const t of all.body.task_instances) assert.equal(t.dag_version?.version_number, 1);
    const one = await h.call("get_mapped_task_instances", { path: path("load"), query: { map_index: [1] } });
    assert.deepEqual(
      one.body.task_instances.map((t: { map_index: number }) => t.map_index),
      [1],
    );
    const desc = await h.call("get_mapped_task_instances", {
      path: path("load"),
      query: { order_by: "-map_index", limit: 2 },
    });
    assert.deepEqual(
      desc.body.task_instances.map((t: { map_index: number }) => t.map_index),
      [2, 1],
    );
    assert.equal(desc.body.total_entries, 3);
    const unmapped = await h.call("get_mapped_task_instances", { path: path("count") });
    assert.equal(unmapped.status, 404);
    assert.match(unmapped.body.detail, /is not mapped/);
  });

  test("one mapped instance by its map index: the instance, its tries, its log", async () => {
    const h = get();
    const ti = await h.call("get_mapped_task_instance", { path: { ...path("load"), map_index: 2 } });
    assert.equal(ti.status, 200);
    assert.equal(ti.body.map_index, 2);
    assert.equal(ti.body.rendered_map_index, "c.csv");
    const tries = await h.call("get_mapped_task_instance_tries", { path: { ...path("load"), map_index: 2 } });
    assert.equal(tries.status, 200);
    assert.equal(tries.body.total_entries, 1);
    assert.equal(tries.body.task_instances[0].map_index, 2);
    const log = await h.call("get_log", {
      path: { ...path("load"), try_number: 1 },
      query: { map_index: 2, full_content: true },
    });
    assert.equal(log.status, 200);
    const missing = await h.call("get_mapped_task_instance", { path: { ...path("load"), map_index: 7 } });
    assert.equal(missing.status, 404);
    // Without a map index, the answer says how to name one.
    const plain = await h.call("get_task_instance", { path: path("load") });
    assert.equal(plain.status, 404);
    assert.match(plain.body.detail, /is mapped: add its map_index/);
  });

  test("the list of a run's task instances filters by map_index; a consumer's XCom is the gathered list", async () => {
    const h = get();
    const list = await h.call("get_task_instances", {
      path: { dag_id: "mapped_api", dag_run_id: "r1" },
      query: { task_id: "load", map_index: [0, 2] },
    });
    assert.deepEqual(
      list.body.task_instances.map((t: { map_index: number }) => t.map_index),
      [0, 2],
    );
    const xcom = await h.call("get_xcom_entry", {
      path: { ...path("count"), xcom_key: "return_value" },
    });
    assert.equal(xcom.status, 200);
    assert.equal(xcom.body.value, 3);
    const mappedXcom = await h.call("get_xcom_entry", {
      path: { ...path("load"), xcom_key: "return_value" },
      query: { map_index: 1 },
    });
    assert.equal(mappedXcom.body.value, 5);
  });

  test("clearing one mapped instance ([task_id, map_index]) clears only it", async () => {
    const h = get();
    const cleared = await h.call("post_clear_task_instances", {
      path: { dag_id: "mapped_api" },
      body: { dry_run: false, dag_run_id: "r1", task_ids: [["load", 1]], only_failed: false },
    });
    assert.equal(cleared.status, 200);
    assert.deepEqual(
      cleared.body.task_instances.map((t: { task_id: string; map_index: number }) => [
        t.task_id,
        t.map_index,
      ]),
      [["load", 1]],
    );
    const states = await h.call("get_mapped_task_instances", { path: path("load") });
    assert.deepEqual(
      states.body.task_instances.map((t: { state: string | null }) => t.state),
      ["success", null, "success"],
    );
  });

  test("marking one mapped instance failed marks only it", async () => {
    const h = get();
    const marked = await h.call("patch_task_instance_by_map_index", {
      path: { ...path("load"), map_index: 2 },
      body: { new_state: "failed" },
    });
    assert.equal(marked.status, 200);
    const states = await h.call("get_mapped_task_instances", { path: path("load") });
    assert.deepEqual(
      states.body.task_instances.map((t: { map_index: number; state: string | null }) => [
        t.map_index,
        t.state,
      ]),
      [
        [0, "success"],
        [1, null],
        [2, "failed"],
      ],
    );
  });
});
