/**
 * DAG versions through the API: a DAG file changed and parsed again is version 2, while a run
 * triggered before the change keeps version 1 (its dag_versions, its task instances' dag_version,
 * its graph and its code); the version list's paging and order, and each endpoint's 404.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, test } from "node:test";
import { processDagFiles } from "../../dag-processing/processor.ts";
import { triggerDagRun } from "../../operations/trigger-run.ts";
import { forEachApiDatabase } from "../../test-support/api.ts";

const V1 = `import { dag, empty } from "updraft";
export default dag({ dagId: "evolving" }, () => {
  empty("extract").before(empty("load"));
});
`;
const V2 = `import { dag, empty } from "updraft";
export default dag({ dagId: "evolving" }, () => {
  empty("extract").before(empty("load")).before(empty("report"));
});
`;

const taskIds = (nodes: { id: string }[]) => nodes.map((n) => n.id);

forEachApiDatabase("DAG versions in the API", { dags: { "evolving.ts": V1 }, allDatabases: true }, (get) => {
  before(async () => {
    await triggerDagRun(get().database, {
      dagId: "evolving",
      runId: "before",
      logicalDate: new Date("2024-01-01Z"),
    });
    writeFileSync(join(get().home, "dags", "evolving.ts"), V2);
    await processDagFiles(get().config, get().database);
    await triggerDagRun(get().database, {
      dagId: "evolving",
      runId: "after",
      logicalDate: new Date("2024-01-02Z"),
    });
  });

  test("the list has both versions, newest last by default, ordered and paged on request", async () => {
    const r = await get().call("get_dag_versions", { path: { dag_id: "evolving" }, as: "Viewer" });
    assert.equal(r.status, 200);
    assert.equal(r.body.total_entries, 2);
    assert.deepEqual(
      r.body.dag_versions.map((v: { version_number: number }) => v.version_number),
      [1, 2],
    );
    const [first, second] = r.body.dag_versions;
    assert.notEqual(first.id, second.id);
    assert.ok(first.created_at <= second.created_at);
    const newestFirst = await get().call("get_dag_versions", {
      path: { dag_id: "evolving" },
      query: { order_by: "-version_number", limit: 1 },
    });
    assert.deepEqual(newestFirst.body.dag_versions, [second]);
    assert.equal(newestFirst.body.total_entries, 2);
    const byNumber = await get().call("get_dag_versions", {
      path: { dag_id: "~" },
      query: { version_number: 2 },
    });
    assert.deepEqual(byNumber.body.dag_versions, [second]);
    const one = await get().call("get_dag_version", { path: { dag_id: "evolving", version_number: 1 } });
    assert.deepEqual(one.body, first);
    const missing = await get().call("get_dag_version", { path: { dag_id: "evolving", version_number: 3 } });
    assert.equal(missing.status, 404);
    const details = await get().call("get_dag_details", { path: { dag_id: "evolving" } });
    assert.deepEqual(details.body.latest_dag_version, second);
  });

  test("each version's source; the newest by default; 404 for a version that does not exist", async () => {
    const latest = await get().call("get_dag_source", { path: { dag_id: "evolving" } });
    assert.equal(latest.body.content, V2);
    assert.equal(latest.body.version_number, 2);
    const old = await get().call("get_dag_source", {
      path: { dag_id: "evolving" },
      query: { version_number: 1 },
    });
    assert.equal(old.body.content, V1);
    assert.equal(old.body.version_number, 1);
    const none = await get().call("get_dag_source", {
      path: { dag_id: "evolving" },
      query: { version_number: 9 },
    });
    assert.equal(none.status, 404);
  });

  test("a run keeps the version it was created with; its task instances too", async () => {
    const runs = await get().call("get_dag_runs", {
      path: { dag_id: "evolving" },
      query: { order_by: "run_after" },
    });
    assert.deepEqual(
      runs.body.dag_runs.map((r: { dag_run_id: string; dag_versions: { version_number: number }[] }) => [
        r.dag_run_id,
        r.dag_versions.map((v) => v.version_number),
      ]),
      [
        ["before", [1]],
        ["after", [2]],
      ],
    );
    const filtered = await get().call("get_dag_runs", {
      path: { dag_id: "evolving" },
      query: { dag_version: [1] },
    });
    assert.deepEqual(
      filtered.body.dag_runs.map((r: { dag_run_id: string }) => r.dag_run_id),
      ["before"],
    );
    const tis = await get().call("get_task_instances", {
      path: { dag_id: "evolving", dag_run_id: "before" },
    });
    assert.deepEqual(
      taskIds(tis.body.task_instances.map((t: { task_id: string }) => ({ id: t.task_id }))).sort(),
      ["extract", "load"],
    );
    for (const ti of tis.body.task_instances) assert.equal(ti.dag_version.version_number, 1);
    const ofV2 = await get().call("get_task_instances", {
      path: { dag_id: "evolving", dag_run_id: "~" },
      query: { version_number: [2] },
    });
    assert.equal(ofV2.body.total_entries, 3);
  });

  test("structure_data answers a version's graph; the newest without version_number", async () => {
    const old = await get().call("structure_data", { query: { dag_id: "evolving", version_number: 1 } });
    assert.deepEqual(taskIds(old.body.nodes), ["extract", "load"]);
    const newest = await get().call("structure_data", { query: { dag_id: "evolving" } });
    assert.deepEqual(taskIds(newest.body.nodes), ["extract", "load", "report"]);
    const none = await get().call("structure_data", { query: { dag_id: "evolving", version_number: 7 } });
    assert.equal(none.status, 404);
  });
});
