import { test } from "node:test";
import assert from "node:assert/strict";
import { DagDefinitionError } from "../core/errors.ts";
import {
  bash,
  chain,
  crossDownstream,
  dag,
  empty,
  findXComRefs,
  resolveXComRefs,
  task,
  type Dag,
} from "./index.ts";

function edges(d: Dag): string[] {
  return d.tasks.flatMap((t) => t.upstream.map((up) => `${up}>${t.taskId}`)).sort();
}

test("chain: handle to handle, fan-out to a list, fan-in from a list", () => {
  const d = dag({ dagId: "fan" }, () => {
    const [a, b, c, d, e] = ["a", "b", "c", "d", "e"].map((id) => empty(id));
    chain(a!, [b!, c!, d!], e!);
  });
  assert.deepEqual(edges(d), ["a>b", "a>c", "a>d", "b>e", "c>e", "d>e"]);
});

test("chain: neighbouring lists are connected pairwise", () => {
  const d = dag({ dagId: "pairwise" }, () => {
    const [a, b, c, d, e] = ["a", "b", "c", "d", "e"].map((id) => empty(id));
    chain([a!, b!], [c!, d!], e!);
  });
  assert.deepEqual(edges(d), ["a>c", "b>d", "c>e", "d>e"]);
});

test("chain: lists of different lengths are an error naming both lists", () => {
  assert.throws(
    () =>
      dag({ dagId: "uneven" }, () => {
        chain([empty("a"), empty("b")], [empty("c"), empty("d"), empty("e")]);
      }),
    (e: unknown) =>
      e instanceof DagDefinitionError &&
      e.message.startsWith(
        'dag "uneven": chain() cannot connect a list of 2 tasks [a, b] to a list of 3 tasks [c, d, e]',
      ) &&
      e.message.includes("crossDownstream"),
  );
});

test("crossDownstream connects every pair", () => {
  const d = dag({ dagId: "cross" }, () => {
    crossDownstream([empty("a"), empty("b")], [empty("c"), empty("d")]);
  });
  assert.deepEqual(edges(d), ["a>c", "a>d", "b>c", "b>d"]);
});

test("before/after return their argument so they read like >> and <<", () => {
  const d = dag({ dagId: "arrows" }, () => {
    const [a, b, c, x, y, z] = ["a", "b", "c", "x", "y", "z"].map((id) => empty(id));
    const returned = a!.before(b!).before(c!);
    assert.equal(returned, c);
    z!.after(y!).after(x!);
    const list = [x!, y!];
    assert.equal(c!.before(list), list);
  });
  assert.deepEqual(edges(d), ["a>b", "b>c", "c>x", "c>y", "x>y", "y>z"]);
});

test("setDownstream/setUpstream take handles and arrays, and XCom handles order tasks too", () => {
  const d = dag({ dagId: "set" }, () => {
    const out = task("produce", () => 1)();
    const [a, b, c] = ["a", "b", "c"].map((id) => empty(id));
    out.setDownstream(a!, [b!]);
    c!.setUpstream([a!, b!]);
  });
  assert.deepEqual(edges(d), ["a>c", "b>c", "produce>a", "produce>b"]);
});

test("calling a task factory again adds __1, __2, ... (Airflow's naming)", () => {
  const d = dag({ dagId: "repeat" }, () => {
    const hello = task("hello", (n: number) => n);
    const first = hello(1);
    const second = hello(2);
    const third = hello.override({ retries: 3 })(3);
    assert.deepEqual([first.taskId, second.taskId, third.taskId], ["hello", "hello__1", "hello__2"]);
    const renamed = hello.override({ taskId: "bye" });
    assert.equal(renamed.taskId, "bye");
    assert.deepEqual([renamed(4).taskId, renamed(5).taskId], ["bye", "bye__1"]);
  });
  assert.deepEqual(d.taskIds, ["bye", "bye__1", "hello", "hello__1", "hello__2"]);
  const s = d.serialize({ fileloc: "r.ts" });
  assert.deepEqual(
    s.tasks.map((t) => t.args),
    [[4], [5], [1], [2], [3]],
  );
  assert.equal(s.tasks.find((t) => t.taskId === "hello__2")!.retries, 3);
});

test("a factory defined outside any DAG can be used in several DAGs, each counting on its own", () => {
  const shared = task("shared", () => "x");
  const one = dag({ dagId: "one" }, () => {
    shared();
    shared();
  });
  const two = dag({ dagId: "two" }, () => {
    shared();
  });
  assert.deepEqual(one.taskIds, ["shared", "shared__1"]);
  assert.deepEqual(two.taskIds, ["shared"]);
});

test("XComArgs nested inside arrays and objects are found, serialized and made upstream", () => {
  const d = dag({ dagId: "nested" }, () => {
    const a = task("a", () => 1)();
    const b = task("b", () => "two")();
    const c = task("c", () => ({ n: 3 }))();
    const use = task(
      "use",
      (input: { nums: number[]; label: string; meta: { n: number }[] }, _extra: number) => input,
    );
    use({ nums: [a, 5], label: b, meta: [c, { n: 4 }] }, a.key<number>("count"));
  });
  const s = d.serialize({ fileloc: "n.ts" });
  const use = s.tasks.find((t) => t.taskId === "use")!;
  assert.deepEqual(use.upstream, ["a", "b", "c"]);
  assert.deepEqual(use.args, [
    {
      nums: [{ __xcom__: { taskId: "a", key: "return_value" } }, 5],
      label: { __xcom__: { taskId: "b", key: "return_value" } },
      meta: [{ __xcom__: { taskId: "c", key: "return_value" } }, { n: 4 }],
    },
    { __xcom__: { taskId: "a", key: "count" } },
  ]);
  // The runner's side: find the refs, pull them, put the values in.
  assert.deepEqual(
    findXComRefs(use.args).map((r) => `${r.taskId}:${r.key}`),
    ["a:return_value", "b:return_value", "c:return_value", "a:count"],
  );
  const values: Record<string, unknown> = {
    "a:return_value": 1,
    "b:return_value": "two",
    "c:return_value": { n: 3 },
    "a:count": 9,
  };
  assert.deepEqual(
    use.args.map((arg) => resolveXComRefs(arg, (r) => values[`${r.taskId}:${r.key}`])),
    [{ nums: [1, 5], label: "two", meta: [{ n: 3 }, { n: 4 }] }, 9],
  );
});

test("trailing undefined arguments are dropped (omitted optional parameters)", () => {
  const d = dag({ dagId: "optional" }, () => {
    task("t", (a: number, b?: string) => `${a}${b ?? ""}`)(1, undefined);
  });
  assert.deepEqual(d.serialize({ fileloc: "o.ts" }).tasks[0]!.args, [1]);
});

test("handles have no `then`, so awaiting one gives the handle itself", async () => {
  let handles: object[] = [];
  let factory: unknown;
  dag({ dagId: "thenless" }, () => {
    factory = task("t", () => 1);
    const out = (factory as () => { key(name: string): object })();
    handles = [out, out.key("other"), bash("b", { command: "true" }), empty("e"), empty("f").xcom()];
  });
  for (const handle of [...handles, factory as object]) {
    assert.equal("then" in handle, false);
    assert.equal(await handle, handle);
  }
});

test("dependencies cannot be added once the DAG is built", () => {
  let late: ReturnType<typeof empty> | undefined;
  let other: ReturnType<typeof empty> | undefined;
  dag({ dagId: "sealed" }, () => {
    late = empty("late");
    other = empty("other");
  });
  assert.throws(
    () => late!.before(other!),
    /^DagDefinitionError: dag "sealed": task "other": this DAG is already built/,
  );
});

test("a DAG built inside another DAG's build keeps its own tasks", () => {
  let inner: Dag | undefined;
  const outer = dag({ dagId: "outer" }, () => {
    empty("o1");
    inner = dag({ dagId: "inner" }, () => {
      empty("i1");
    });
    empty("o2");
  });
  assert.deepEqual(outer.taskIds, ["o1", "o2"]);
  assert.deepEqual(inner!.taskIds, ["i1"]);
});
