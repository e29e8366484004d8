/**
 * Dynamic task mapping in the SDK: what expand(), partial().expand(), expandKwargs() and
 * bash.partial() store, their typing (checked by `npm run typecheck`), and the errors of bad calls.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { bash, dag, http, sql, task, taskGroup, type XComArg } from "./index.ts";

const build = (body: () => void) => dag({ dagId: "mapping" }, body).serialize({ fileloc: "mapping.ts" });
const byId = (s: ReturnType<typeof build>, id: string) => s.tasks.find((t) => t.taskId === id)!;

test("expand over a list, a task's output, or a mapped task's output; the output is a list", () => {
  const s = build(() => {
    const files = task("files", () => ["a", "b"]);
    const size = task("size", (file: string) => file.length);
    const twice = task("twice", (n: number) => n * 2);
    const total = task("total", (ns: number[]) => ns.length);
    const sizes: XComArg<number[]> = size.expand(files());
    total(twice.expand(sizes));
    size.expand(["x", "yy"]);
    // @ts-expect-error the elements must be the parameter's type
    size.expand([1, 2]);
    // @ts-expect-error a task's output must be a list of the parameter's type
    twice.expand(files());
  });
  assert.deepEqual(byId(s, "size").expand, {
    mode: "list",
    value: { __xcom__: { taskId: "files", key: "return_value" } },
  });
  assert.deepEqual(byId(s, "size").upstream, ["files"]);
  assert.deepEqual(byId(s, "twice").expand?.value, { __xcom__: { taskId: "size", key: "return_value" } });
  assert.deepEqual(byId(s, "size__1").expand, { mode: "list", value: ["x", "yy"] });
  assert.equal(byId(s, "total").expand, undefined);
});

test("keyword mapping: partial() fixes keywords, expand() maps the others, expandKwargs() maps objects", () => {
  const s = build(() => {
    const add = task("add", (o: { x: number; y: number }) => o.x + o.y, { mapIndexTemplate: "{{ x }}" });
    const ys = task("ys", () => [10, 20]);
    add.partial({ y: 1 }).expand({ x: [1, 2, 3] });
    add.expand({ x: [1, 2], y: ys() });
    add.expandKwargs([{ x: 1, y: 2 }, { x: 3 }]);
    // @ts-expect-error a key the parameter does not have
    add.partial({ y: 1 }).expand({ z: [1] });
    // @ts-expect-error a list of the wrong element type
    add.expand({ x: ["a"] });
  });
  assert.deepEqual(byId(s, "add").expand, { mode: "dict", value: { x: [1, 2, 3] } });
  assert.deepEqual(byId(s, "add").args, [{ y: 1 }]);
  assert.equal(byId(s, "add").mapIndexTemplate, "{{ x }}");
  assert.deepEqual(byId(s, "add__1").upstream, ["ys"]);
  assert.deepEqual(byId(s, "add__2").expand, { mode: "kwargs", value: [{ x: 1, y: 2 }, { x: 3 }] });
});

test("bash.partial() maps commands, env or cwd over instances", () => {
  const s = build(() => {
    bash.partial("echo", { env: { A: "1" } }).expand({ command: ["echo 1", "echo 2"] });
    bash.partial("run", { command: "echo $A" }).expandKwargs([{ env: { A: "x" } }, { env: { A: "y" } }]);
  });
  assert.deepEqual(byId(s, "echo").expand, { mode: "dict", value: { command: ["echo 1", "echo 2"] } });
  assert.deepEqual(byId(s, "echo").templateFields, { env: { A: "1" } });
  assert.equal(byId(s, "run").templateFields.command, "echo $A");
});

test("http.partial() and sql.partial() map their fields (Airflow's HttpOperator / SQLExecuteQueryOperator .partial().expand())", () => {
  const s = build(() => {
    const got: XComArg<unknown[]> = http
      .partial("get", { connId: "api", method: "GET" })
      .expand({ endpoint: ["/a", "/b"] });
    http
      .partial("post", { connId: "api", endpoint: "/load" })
      .expandKwargs([{ data: { n: 1 } }, { data: { n: 2 } }]);
    sql
      .partial("count", { connId: "wh", sql: "SELECT count(*) FROM t WHERE day = ?" })
      .expand({ parameters: [["x"]] });
    sql.partial("drop", { connId: "wh" }).expand({ sql: ["DROP TABLE a", "DROP TABLE b"] });
    // @ts-expect-error an endpoint is a string
    http.partial("bad", { connId: "api" }).expand({ endpoint: [1] });
    void got;
  });
  assert.deepEqual(byId(s, "get").expand, { mode: "dict", value: { endpoint: ["/a", "/b"] } });
  assert.equal(byId(s, "get").templateFields.method, "GET");
  assert.equal(byId(s, "post").expand?.mode, "kwargs");
  assert.deepEqual(byId(s, "count").expand, { mode: "dict", value: { parameters: [["x"]] } });
  assert.equal(byId(s, "count").templateFields.sql, "SELECT count(*) FROM t WHERE day = ?");
  assert.deepEqual(byId(s, "drop").expand, {
    mode: "dict",
    value: { sql: ["DROP TABLE a", "DROP TABLE b"] },
  });
  assert.ok(!("sql" in byId(s, "drop").templateFields));
  assert.throws(
    () => build(() => http.partial("h", {}).expand({ url: ["x"] } as never)),
    /http tasks cannot be mapped over "url": map over endpoint, method, data, headers/,
  );
  assert.throws(
    () => build(() => sql.partial("q", { connId: "wh" }).expand({ parameters: [[1]] })),
    /sql\(\) needs sql: give it to partial\(\) or map over it/,
  );
});

test("bad mapping calls fail when the DAG is built, naming the task and what to write", () => {
  const add = task("add", (o: { x: number; y: number }) => o.x + o.y);
  const one = task("one", (x: number) => x);
  assert.throws(
    () => build(() => add.partial({ y: 1 }).expand({ y: [2] } as never)),
    /"y" is given both to partial\(\) and to expand\(\)/,
  );
  assert.throws(() => build(() => one.expand(5 as never)), /must be a list or the output of a task/);
  assert.throws(() => build(() => add.expand({} as never)), /no keyword to map over/);
  assert.throws(() => build(() => add.expandKwargs([1] as never)), /takes a list of objects; element 0/);
  assert.throws(
    () => build(() => bash.partial("b", {}).expand({ shell: ["x"] } as never)),
    /cannot be mapped over "shell": map over command, cwd, env/,
  );
  assert.throws(() => build(() => bash.partial("b", {}).expand({ env: [{ A: "1" }] })), /needs a command/);
});

test("mapped tasks inside a task group get its prefix and its defaultArgs", () => {
  const s = build(() => {
    const load = task("load", (file: string) => file.length);
    taskGroup(
      "ingest",
      () => {
        load.expand(["a", "bb"]);
        bash.partial("echo", {}).expand({ command: ["echo 1"] });
      },
      { defaultArgs: { retries: 3 } },
    )();
  });
  assert.deepEqual(byId(s, "ingest.load").expand, { mode: "list", value: ["a", "bb"] });
  assert.equal(byId(s, "ingest.load").retries, 3);
  assert.deepEqual(byId(s, "ingest.echo").expand, { mode: "dict", value: { command: ["echo 1"] } });
  assert.equal(byId(s, "ingest.echo").retries, 3);
});

test("a mapped task group: every task maps over the group's list, its argument stands for the element", () => {
  const s = build(() => {
    const files = task("files", () => ["a", "b"]);
    const size = task("size", (file: string) => file.length);
    const label = task("label", (file: string, n: number) => `${file}:${n}`);
    const perFile = taskGroup("per_file", (file: string) => label(file, size(file)));
    const g = perFile.expand(files());
    task("all", (labels: string[]) => labels.length)(g.output);
    taskGroup("fixed", (n: number) => size(String(n) as never)).expand([1, 2]);
    // @ts-expect-error the list's elements must be the group function's parameter
    perFile.expand([1, 2]);
  });
  const source = { __xcom__: { taskId: "files", key: "return_value" } };
  assert.deepEqual(byId(s, "per_file.size").expand, { mode: "group", value: source, group: "per_file" });
  assert.deepEqual(byId(s, "per_file.size").args, [{ __map_element__: "per_file" }]);
  assert.deepEqual(byId(s, "per_file.label").args, [
    { __map_element__: "per_file" },
    { __xcom__: { taskId: "per_file.size", key: "return_value" } },
  ]);
  // Every task of the group waits for what makes the list.
  assert.deepEqual(byId(s, "per_file.label").upstream, ["files", "per_file.size"]);
  assert.deepEqual(byId(s, "fixed.size").expand, { mode: "group", value: [1, 2], group: "fixed" });
  assert.equal(s.taskGroups?.find((g) => g.groupId === "per_file")?.isMapped, true);
});

test("mapping inside a mapped task group, or a group mapped over a non-list, fails at build time", () => {
  const one = task("one", (x: number) => x);
  assert.throws(
    () => build(() => taskGroup("g", (x: number) => one.expand([x])).expand([1, 2])),
    /mapped inside the mapped task group "g"/,
  );
  assert.throws(
    () => build(() => taskGroup("g", (x: number) => one(x)).expand(3 as never)),
    /expand\(\) takes a list or the output of a task returning a list, got 3/,
  );
  assert.throws(
    () =>
      build(() =>
        taskGroup("outer", (x: number) => taskGroup("inner", (y: number) => one(y)).expand([x])).expand([1]),
      ),
    /a mapped task group inside the mapped task group "outer" is not supported/,
  );
});
