/**
 * Dynamic task mapping run for real (Airflow's expand): instances per element, results gathered in
 * map-index order, empty lists skipped, lists past max_map_length failing the task that pushed them.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { triggerDagRun } from "../operations/trigger-run.ts";
import { childUrl, forEachDatabase } from "../test-support/databases.ts";
import { dagsHome, type DagsHome } from "../test-support/dags-home.ts";
import type { DagRunRow } from "../storage/schema.ts";
import { xcomStore } from "../storage/xcom.ts";

const DAG = `import { dag, bash, task } from "updraft";
export default dag({ dagId: "mapped", params: { n: 3 } }, () => {
  const make = task("make", (n: number) => Array.from({ length: n }, (_, i) => i + 1));
  const double = task("double", (x: number) => x * 2);
  const add = task("add", (o: { x: number; y: number }) => o.x + o.y, { mapIndexTemplate: "x={{ x }}, y={{ y }}" });
  const total = task("total", (xs: number[]) => xs.reduce((a, b) => a + b, 0));
  const after = task("after_empty", () => "ran", { triggerRule: "all_done" });
  const items = make("{{ params.n }}" as never);
  const doubled = double.expand(items);
  const plusOne = task("plus_one", (x: number) => x + 1).expand(doubled);
  total(plusOne);
  add.partial({ y: 100 }).expand({ x: [1, 2] });
  add.expand({ x: [1, 2], y: [10, 20] });
  add.expandKwargs([{ x: 5, y: 6 }]);
  const none = task("nothing", () => [] as number[])();
  const skipped = double.expand(none);
  skipped.before(after());
  bash.partial("echo", { env: { GREETING: "hi" } }).expand({ command: ["echo $GREETING one", "echo $GREETING two"] });
});`;

/** The run's task instances: "task[index]" -> state. */
async function instances(h: DagsHome, run: DagRunRow): Promise<Record<string, string | null>> {
  const rows = await h.database.db
    .selectFrom("task_instance")
    .select(["task_id", "map_index", "state", "rendered_map_index"])
    .where("dag_run_id", "=", run.id)
    .orderBy("task_id")
    .orderBy("map_index")
    .execute();
  return Object.fromEntries(rows.map((r) => [`${r.task_id}[${r.map_index}]`, r.state]));
}

forEachDatabase("dynamic task mapping, run for real", (get) => {
  let h: DagsHome;
  before(async () => (h = await dagsHome({ "mapped.ts": DAG }, { UPDRAFT__DATABASE__URL: childUrl(get()) })));
  after(() => h.close());

  test("each element gets an instance, and mapped results reach downstream in map-index order", async () => {
    const run = await triggerDagRun(h.database, { dagId: "mapped", conf: { n: 3 } });
    const ended = await h.drive(run);
    assert.equal(ended, "success");
    const states = await instances(h, run);
    assert.deepEqual(
      Object.keys(states).filter((k) => k.startsWith("double[") || k.startsWith("plus_one[")),
      ["double[0]", "double[1]", "double[2]", "plus_one[0]", "plus_one[1]", "plus_one[2]"],
    );
    const xcoms = xcomStore(h.database);
    assert.deepEqual(await xcoms.mapped(run.id, "double"), [2, 4, 6]);
    assert.deepEqual(await xcoms.mapped(run.id, "plus_one"), [3, 5, 7]);
    assert.equal(await xcoms.pull(run.id, "total"), 15);
    // partial + expand, the cross product (last key fastest), expandKwargs.
    assert.deepEqual(await xcoms.mapped(run.id, "add"), [101, 102]);
    assert.deepEqual(await xcoms.mapped(run.id, "add__1"), [11, 21, 12, 22]);
    assert.deepEqual(await xcoms.mapped(run.id, "add__2"), [11]);
    const labels = await h.database.db
      .selectFrom("task_instance")
      .select("rendered_map_index")
      .where("dag_run_id", "=", run.id)
      .where("task_id", "=", "add__1")
      .orderBy("map_index")
      .execute();
    assert.deepEqual(
      labels.map((l) => l.rendered_map_index),
      ["x=1, y=10", "x=1, y=20", "x=2, y=10", "x=2, y=20"],
    );
    // An empty list: the mapped task is skipped, and what follows goes by its trigger rule.
    assert.equal(states["double__1[-1]"], "skipped");
    assert.equal(states["after_empty[-1]"], "success");
    // A mapped bash task: each instance runs its own command with the fixed env.
    assert.equal(states["echo[0]"], "success");
    assert.match(h.log(run, "echo", 1, 1), /hi two/);
    assert.match(h.log(run, "echo", 1, 0), /hi one/);
  });
});

describe("mapping past [core] max_map_length", () => {
  let h: DagsHome;
  before(async () => (h = await dagsHome({ "mapped.ts": DAG }, { UPDRAFT__CORE__MAX_MAP_LENGTH: "2" })));
  after(() => h.close());

  test("the task pushing the long list fails, naming the setting; its mapped task is upstream_failed", async () => {
    const run = await triggerDagRun(h.database, { dagId: "mapped", conf: { n: 3 } });
    assert.equal(await h.drive(run), "failed");
    const states = await instances(h, run);
    assert.equal(states["make[-1]"], "failed");
    assert.equal(states["double[-1]"], "upstream_failed");
    assert.match(h.log(run, "make"), /3 elements, over \[core\] max_map_length \(2\)/);
    // A list written in the DAG file past the bound fails the mapped task itself.
    assert.equal(states["add__1[-1]"], "failed");
  });
});

const GROUP_DAG = `import { dag, task, taskGroup } from "updraft";
export default dag({ dagId: "mapped_group" }, () => {
  const files = task("files", () => ["a", "bb", "bad", "dddd"]);
  const size = task("size", (file: string) => {
    if (file === "bad") throw new Error("cannot read " + file);
    return file.length;
  });
  const double = task("double", (n: number) => n * 2);
  const note = task("note", (file: string, doubled: number) => file + "=" + doubled);
  const perFile = taskGroup("per_file", (file: string) => note(file, double(size(file))));
  const group = perFile.expand(files());
  task("report", (notes: string[]) => notes.join(","), { triggerRule: "all_done" })(group.output);
});`;

forEachDatabase("a mapped task group, run for real", (get) => {
  let h: DagsHome;
  before(
    async () =>
      (h = await dagsHome({ "mapped_group.ts": GROUP_DAG }, { UPDRAFT__DATABASE__URL: childUrl(get()) })),
  );
  after(() => h.close());

  test("instance i of each task follows instance i before it; a failure stops only its own index", async () => {
    const run = await triggerDagRun(h.database, { dagId: "mapped_group" });
    const ended = await h.drive(run);
    const states = await instances(h, run);
    // The run's one leaf, report (all_done), succeeded: so did the run, as in Airflow.
    assert.equal(ended, "success");
    for (const t of ["per_file.size", "per_file.double", "per_file.note"])
      assert.deepEqual(
        [0, 1, 2, 3].map((i) => states[`${t}[${i}]`]),
        t === "per_file.size"
          ? ["success", "success", "failed", "success"]
          : ["success", "success", "upstream_failed", "success"],
        t,
      );
    const xcoms = xcomStore(h.database);
    // Each instance got its own element and its own upstream instance's value.
    assert.deepEqual(await xcoms.mapped(run.id, "per_file.note"), ["a=2", "bb=4", "dddd=8"]);
    assert.equal(await xcoms.pull(run.id, "report"), "a=2,bb=4,dddd=8");
  });
});
