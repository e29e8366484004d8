/**
 * Task groups through the API: Airflow 3's structure endpoint (nodes with children, join nodes for
 * dependencies set on groups, as Airflow's dag_edges draws them), the public task list, and the task
 * instance list's task_group_id filter. Answers are checked against the schemas by the harness.
 */
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { triggerDagRun } from "../../operations/trigger-run.ts";
import { forEachApiDatabase } from "../../test-support/api.ts";

const DAG = `import { dag, empty, task, taskGroup } from "updraft";
const load = taskGroup("load", () => {
  const a = empty("a");
  const b = empty("b");
  a.before(b);
  taskGroup("inner", () => { empty("x"); }, { tooltip: "deep", prefixGroupId: false })();
}, { tooltip: "Loads", uiColor: "#abcdef" });
const report = taskGroup("report", () => { empty("r1"); empty("r2"); });
export default dag({ dagId: "grouped" }, () => {
  const start = empty("start");
  const l = load();
  const r = report();
  start.before(l).before(r);
  r.before(empty("end"));
  task("solo", () => 1)().after(start);
});`;

const ids = (nodes: { id: string }[]) => nodes.map((n) => n.id);

forEachApiDatabase("task groups in the API", { dags: { "grouped.ts": DAG } }, (get) => {
  before(async () => {
    await triggerDagRun(get().database, {
      dagId: "grouped",
      runId: "r",
      logicalDate: new Date("2024-03-01T00:00:00Z"),
    });
  });

  test("structure_data gives the group tree, labels without prefixes, and Airflow's join nodes", async () => {
    const r = await get().call("structure_data", { query: { dag_id: "grouped" }, as: "Viewer" });
    assert.equal(r.status, 200);
    const { nodes, edges } = r.body;
    assert.deepEqual(ids(nodes), ["start", "load", "solo", "report", "end"]);
    const load = nodes[1];
    assert.deepEqual(
      { label: load.label, tooltip: load.tooltip, ui_color: load.ui_color, is_mapped: load.is_mapped },
      { label: "load", tooltip: "Loads", ui_color: "#abcdef", is_mapped: false },
    );
    // In dependency order: a and the inner group first (nothing inside "load" comes before them), then b.
    assert.deepEqual(ids(load.children), [
      "load.a",
      "load.inner",
      "load.b",
      "load.upstream_join_id",
      "load.downstream_join_id",
    ]);
    assert.deepEqual(
      load.children.map((c: { label: string; type: string }) => `${c.label}:${c.type}`),
      ["a:task", "inner:task", "b:task", ":join", ":join"],
    );
    // "inner" does not prefix: its task keeps its id, and its label is that id.
    assert.deepEqual(load.children[1].children, [
      {
        id: "x",
        label: "x",
        operator: "EmptyOperator",
        type: "task",
        ui_color: "#e8f7e4",
        ui_fgcolor: "#000",
      },
    ]);
    assert.equal(nodes[0].operator, "EmptyOperator");
    assert.equal(nodes[2].operator, "PythonOperator");
    const pairs = edges.map((e: { source_id: string; target_id: string }) => `${e.source_id}>${e.target_id}`);
    assert.deepEqual(pairs, [
      "load.a>load.b",
      "load.b>load.downstream_join_id",
      "load.downstream_join_id>report.upstream_join_id",
      "load.upstream_join_id>load.a",
      "load.upstream_join_id>x",
      "report.downstream_join_id>end",
      "report.r1>report.downstream_join_id",
      "report.r2>report.downstream_join_id",
      "report.upstream_join_id>report.r1",
      "report.upstream_join_id>report.r2",
      "start>load.upstream_join_id",
      "start>solo",
      "x>load.downstream_join_id",
    ]);
  });

  test("structure_data: an unknown DAG or version is 404; it needs a signed-in reader", async () => {
    const h = get();
    assert.equal((await h.call("structure_data", { query: { dag_id: "nope" } })).status, 404);
    const old = await h.call("structure_data", { query: { dag_id: "grouped", version_number: 2 } });
    assert.equal(old.status, 404);
    assert.equal((await h.call("structure_data", { query: { dag_id: "grouped" }, as: null })).status, 401);
    assert.equal((await h.call("structure_data", { query: {} })).status, 422);
  });

  test("the public task list keeps full ids; TaskResponse has no group field in Airflow either", async () => {
    const r = await get().call("get_tasks", { path: { dag_id: "grouped" } });
    assert.deepEqual(
      r.body.tasks.map((t: { task_id: string }) => t.task_id),
      ["end", "load.a", "load.b", "report.r1", "report.r2", "solo", "start", "x"],
    );
    const start = r.body.tasks.find((t: { task_id: string }) => t.task_id === "start");
    assert.deepEqual(start.downstream_task_ids, ["load.a", "solo", "x"]);
  });

  test("task_group_id lists the instances of a group's tasks, inner groups' included", async () => {
    const h = get();
    const list = async (group: string) =>
      h.call("get_task_instances", {
        path: { dag_id: "grouped", dag_run_id: "r" },
        query: { task_group_id: group },
      });
    const load = await list("load");
    assert.equal(load.status, 200);
    assert.deepEqual(load.body.task_instances.map((t: { task_id: string }) => t.task_id).sort(), [
      "load.a",
      "load.b",
      "x",
    ]);
    assert.equal(load.body.total_entries, 3);
    const inner = await list("load.inner");
    assert.deepEqual(
      inner.body.task_instances.map((t: { task_id: string }) => t.task_id),
      ["x"],
    );
    const missing = await list("nope");
    assert.equal(missing.status, 404);
    assert.match(missing.body.detail, /Task group nope not found/);
    const anyDag = await h.call("get_task_instances", {
      path: { dag_id: "~", dag_run_id: "~" },
      query: { task_group_id: "load" },
    });
    assert.equal(anyDag.status, 400);
  });

  test("/ui/auth/me answers who is signed in and their role; 401 for nobody", async () => {
    for (const role of ["Viewer", "Admin"] as const) {
      const r = await get().call("get_current_user_info", { as: role });
      assert.equal(r.status, 200);
      assert.equal(r.body.role, role);
      assert.equal(r.body.username, r.body.id);
    }
    assert.equal((await get().call("get_current_user_info", { as: null })).status, 401);
  });
});
