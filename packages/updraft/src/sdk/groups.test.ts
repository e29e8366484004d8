/**
 * Task groups as Airflow's TaskGroup documents them: prefixed ids, nesting, prefix_group_id=False,
 * default_args precedence, dependencies to and from groups (roots and leaves), repeated calls,
 * errors, and the serialized tree.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { DagDefinitionError } from "../core/errors.ts";
import { SerializedDagSchema } from "../core/serialized.ts";
import {
  bash,
  chain,
  dag,
  empty,
  task,
  taskGroup,
  type Dag,
  type TaskGroupHandle,
  type XComArg,
} from "./index.ts";

function edges(d: Dag): string[] {
  return d.tasks.flatMap((t) => t.upstream.map((up) => `${up}>${t.taskId}`)).sort();
}

const definitionError = (pattern: RegExp) => (e: unknown) =>
  e instanceof DagDefinitionError && pattern.test(e.message);

test("tasks inside a group get the group's id as a prefix; groups nest", () => {
  const d = dag({ dagId: "nested" }, () => {
    const outer = taskGroup("outer", () => {
      empty("a");
      taskGroup("inner", () => {
        empty("b");
        bash("c", { command: "true" });
      })();
    });
    const handle = outer();
    assert.equal(handle.groupId, "outer");
    assert.deepEqual(handle.taskIds, ["outer.a", "outer.inner.b", "outer.inner.c"]);
    empty("top");
  });
  assert.deepEqual(d.taskIds.sort(), ["outer.a", "outer.inner.b", "outer.inner.c", "top"]);
  assert.equal(d.getTask("outer.inner.b")!.taskGroup, "outer.inner");
  assert.equal(d.getTask("top")!.taskGroup, undefined);
  const s = d.serialize({ fileloc: "n.ts" });
  assert.deepEqual(
    s.taskGroups!.map((g) => [g.groupId, g.parent, g.children]),
    [
      ["outer", null, ["outer.a", "outer.inner"]],
      ["outer.inner", "outer", ["outer.inner.b", "outer.inner.c"]],
    ],
  );
  assert.equal(s.tasks.find((t) => t.taskId === "outer.a")!.taskGroup, "outer");
  assert.equal("taskGroup" in s.tasks.find((t) => t.taskId === "top")!, false);
});

test("prefixGroupId: false keeps the ids of what the group holds, as prefix_group_id=False does", () => {
  const d = dag({ dagId: "bare" }, () => {
    taskGroup("outer", () => {
      taskGroup(
        "plain",
        () => {
          empty("x");
          taskGroup("deeper", () => empty("y"))();
        },
        { prefixGroupId: false },
      )();
    })();
  });
  // The group itself is still named inside "outer"; what it holds is not prefixed by it.
  assert.deepEqual(d.taskIds.sort(), ["deeper.y", "x"]);
  const groups = d.serialize({ fileloc: "b.ts" }).taskGroups!;
  assert.deepEqual(
    groups.map((g) => [g.groupId, g.prefixGroupId]),
    [
      ["outer", true],
      ["outer.plain", false],
      ["deeper", true],
    ],
  );
  assert.equal(d.getTask("x")!.taskGroup, "outer.plain");
});

test("defaultArgs: the task's own, then the inner group's, then the outer group's, then the DAG's", () => {
  const d = dag(
    {
      dagId: "precedence",
      defaultArgs: { retries: 1, queue: "dag_q", pool: "dag_pool", owner: "dag_owner" },
    },
    () => {
      taskGroup(
        "outer",
        () => {
          empty("in_outer");
          taskGroup(
            "inner",
            () => {
              empty("in_inner");
              empty("own", { retries: 9 });
            },
            { defaultArgs: { retries: 3, owner: "inner_owner" } },
          )();
        },
        { defaultArgs: { retries: 2, queue: "outer_q" } },
      )();
      empty("outside");
    },
  );
  const s = d.serialize({ fileloc: "p.ts" });
  const pick = (id: string) => {
    const t = s.tasks.find((x) => x.taskId === id)!;
    return [t.retries, t.queue, t.pool, t.owner];
  };
  assert.deepEqual(pick("outside"), [1, "dag_q", "dag_pool", "dag_owner"]);
  assert.deepEqual(pick("outer.in_outer"), [2, "outer_q", "dag_pool", "dag_owner"]);
  assert.deepEqual(pick("outer.inner.in_inner"), [3, "outer_q", "dag_pool", "inner_owner"]);
  assert.deepEqual(pick("outer.inner.own"), [9, "outer_q", "dag_pool", "inner_owner"]);
});

test("a group's defaultArgs reach TaskFlow tasks, and a teardown inside keeps its own rule", () => {
  const d = dag({ dagId: "taskflow_defaults" }, () => {
    taskGroup(
      "g",
      () => {
        task("t", () => 1)();
        empty("down", { teardown: true });
        empty("late").asTeardown();
      },
      { defaultArgs: { retries: 4, triggerRule: "all_done" } },
    )();
  });
  const s = d.serialize({ fileloc: "t.ts" });
  const t = s.tasks.find((x) => x.taskId === "g.t")!;
  assert.deepEqual([t.retries, t.triggerRule], [4, "all_done"]);
  assert.equal(s.tasks.find((x) => x.taskId === "g.down")!.triggerRule, "all_done_setup_success");
  assert.equal(s.tasks.find((x) => x.taskId === "g.late")!.triggerRule, "all_done_setup_success");
});

test("x >> group waits for x in the group's roots; group >> y makes y wait for its leaves", () => {
  const d = dag({ dagId: "ends" }, () => {
    const work = taskGroup("work", () => {
      const [a, b, c, d] = ["a", "b", "c", "d"].map((id) => empty(id));
      a!.before([b!, c!]);
      void d; // a root and a leaf at once
    });
    const start = empty("start");
    const g = work();
    const end = empty("end");
    assert.equal(start.before(g), g);
    assert.equal(g.before(end), end);
  });
  assert.deepEqual(edges(d), [
    "start>work.a",
    "start>work.d",
    "work.a>work.b",
    "work.a>work.c",
    "work.b>end",
    "work.c>end",
    "work.d>end",
  ]);
  const group = d.serialize({ fileloc: "e.ts" }).taskGroups![0]!;
  assert.deepEqual(group.upstreamTaskIds, ["start"]);
  assert.deepEqual(group.downstreamTaskIds, ["end"]);
});

test("group >> group joins the first's leaves to the second's roots; chain, after, setUpstream take groups", () => {
  const d = dag({ dagId: "two_groups" }, () => {
    const pair = taskGroup("pair", () => {
      const a = empty("a");
      a.before(empty("b"));
    });
    const one = pair();
    const two = pair();
    const three = pair();
    const four = pair();
    chain(one, [two, three], four);
    const last = empty("last");
    last.setUpstream(four);
    four.after(empty("side"));
  });
  assert.deepEqual(edges(d), [
    "pair.a>pair.b",
    "pair.b>pair__1.a",
    "pair.b>pair__2.a",
    "pair__1.a>pair__1.b",
    "pair__1.b>pair__3.a",
    "pair__2.a>pair__2.b",
    "pair__2.b>pair__3.a",
    "pair__3.a>pair__3.b",
    "pair__3.b>last",
    "side>pair__3.a",
  ]);
  const groups = new Map(d.serialize({ fileloc: "t.ts" }).taskGroups!.map((g) => [g.groupId, g]));
  assert.deepEqual(groups.get("pair")!.downstreamGroupIds, ["pair__1", "pair__2"]);
  assert.deepEqual(groups.get("pair__3")!.upstreamGroupIds, ["pair__1", "pair__2"]);
  assert.deepEqual(groups.get("pair__3")!.upstreamTaskIds, ["side"]);
});

test("a teardown at a group's end is not a leaf: group >> next waits for the work (Airflow's get_leaves)", () => {
  const d = dag({ dagId: "cleanup" }, () => {
    const g = taskGroup("db", () => {
      const create = empty("create");
      const query = empty("query");
      const drop = empty("drop");
      create.before(query).before(drop.asTeardown({ setups: create }));
    })();
    g.before(empty("next"));
  });
  assert.deepEqual(
    edges(d).filter((e) => e.endsWith(">next")),
    ["db.query>next"],
  );
});

test("a group's output is what its function returned, usable as a task's argument", () => {
  const d = dag({ dagId: "output" }, () => {
    const compute = taskGroup("compute", (base: number) => {
      const add = task("add", (x: number) => x + 1);
      return add(base);
    });
    const report = task("report", (n: number) => `${n}`);
    const g = compute(41);
    const out: XComArg<number> = g.output;
    report(out);
  });
  const s = d.serialize({ fileloc: "o.ts" });
  const report = s.tasks.find((t) => t.taskId === "report")!;
  assert.deepEqual(report.upstream, ["compute.add"]);
  assert.deepEqual(report.args, [{ __xcom__: { taskId: "compute.add", key: "return_value" } }]);
  assert.deepEqual(s.tasks.find((t) => t.taskId === "compute.add")!.args, [41]);
});

test("calling a group again gives group__1, group__2; override() renames and changes options", () => {
  const d = dag({ dagId: "again" }, () => {
    const g = taskGroup("g", () => empty("t"), { tooltip: "first" });
    assert.equal(g.groupId, "g");
    assert.deepEqual([g().groupId, g().groupId, g().groupId], ["g", "g__1", "g__2"]);
    const other = g.override({ groupId: "other", prefixGroupId: false, tooltip: "second" });
    assert.equal(other().groupId, "other");
  });
  assert.deepEqual(d.taskIds.sort(), ["g.t", "g__1.t", "g__2.t", "t"]);
  const tooltips = d.serialize({ fileloc: "a.ts" }).taskGroups!.map((g) => `${g.groupId}:${g.tooltip}`);
  assert.deepEqual(tooltips, ["g:first", "g__1:first", "g__2:first", "other:second"]);
});

test("tooltip, uiColor and uiFgColor are stored; the defaults are Airflow's", () => {
  const d = dag({ dagId: "colours" }, () => {
    taskGroup("plain", () => empty("a"))();
    taskGroup("dressed", () => empty("b"), { tooltip: "t", uiColor: "#123456", uiFgColor: "white" })();
  });
  const [plain, dressed] = d.serialize({ fileloc: "c.ts" }).taskGroups!;
  assert.deepEqual([plain!.tooltip, plain!.uiColor, plain!.uiFgColor], ["", "CornflowerBlue", "#000"]);
  assert.deepEqual([dressed!.tooltip, dressed!.uiColor, dressed!.uiFgColor], ["t", "#123456", "white"]);
});

test("errors name the DAG and the group and say what to write", () => {
  const cases: [() => unknown, RegExp][] = [
    [() => taskGroup("a.b", () => {}), /the task group id "a\.b" contains "\."/],
    [() => taskGroup("a b", () => {}), /the task group id contains " "/],
    [() => taskGroup("g", "nope" as never), /task group "g": taskGroup\(\) takes the group's function/],
    [() => taskGroup("g", () => {}, { prefix: true } as never), /unknown option "prefix"/],
    [() => taskGroup("g", () => {}, { prefixGroupId: "yes" } as never), /prefixGroupId must be/],
    [() => taskGroup("g", () => {}, { tooltip: 3 } as never), /tooltip must be a string/],
    [
      () => taskGroup("g", () => {}, { defaultArgs: { retries: -1 } }),
      /task group "g": defaultArgs: retries must be a whole number/,
    ],
    [() => taskGroup("g", () => {})(), /called outside a dag\(\) build/],
  ];
  for (const [run, pattern] of cases) assert.throws(run, definitionError(pattern), String(pattern));

  const inDag = (build: () => void) => () => dag({ dagId: "bad" }, build);
  assert.throws(
    inDag(() => {
      empty("x");
      taskGroup("x", () => {})();
    }),
    definitionError(/^dag "bad": task group "x": the group id is already used by a task/),
  );
  assert.throws(
    inDag(() => {
      taskGroup("x", () => {})();
      empty("x");
    }),
    definitionError(/^dag "bad": task "x": the task id is already used by a task group/),
  );
  assert.throws(
    inDag(() => {
      taskGroup("x", () => {})();
      taskGroup("x", () => {})();
    }),
    definitionError(/the group id is already used by another task group/),
  );
  assert.throws(
    inDag(() => {
      taskGroup("slow", async () => {})();
    }),
    definitionError(/task group "slow": the group's function returned a promise/),
  );
  assert.throws(
    inDag(() => {
      taskGroup("g", () => empty("a".repeat(249)))();
    }),
    definitionError(/longer than 250 characters: shorten the task or group id, or set prefixGroupId: false/),
  );
  assert.throws(
    inDag(() => {
      const g = taskGroup("g", () => empty("a"))();
      empty("t").asTeardown({ setups: g as never });
    }),
    definitionError(/asTeardown\(\): setups must be tasks, got task group "g"/),
  );
});

test("a dependency between a group and another DAG's task is refused", () => {
  let foreign: ReturnType<typeof empty> | undefined;
  dag({ dagId: "first" }, () => {
    foreign = empty("f");
  });
  assert.throws(
    () =>
      dag({ dagId: "second" }, () => {
        taskGroup("g", () => empty("a"))().after(foreign!);
      }),
    definitionError(/^dag "second": task group "g": cannot depend on task "f" of dag "first"/),
  );
});

test("a group whose tasks depend on one another in a loop is a cycle", () => {
  assert.throws(
    () =>
      dag({ dagId: "loop" }, () => {
        const g = taskGroup("g", () => empty("a"))();
        g.before(g);
      }),
    definitionError(/has a cycle: g\.a -> g\.a/),
  );
});

test("group handles and factories have no then; a group's body gets its call's arguments typed", async () => {
  let handle: TaskGroupHandle | undefined;
  const factory = taskGroup("g", (n: number, label: string) => empty(`${label}${n}`));
  dag({ dagId: "typed" }, () => {
    handle = factory(1, "x");
    // @ts-expect-error a string where the body takes a number
    factory("1", "x");
  });
  for (const value of [handle!, factory]) {
    assert.equal("then" in value, false);
    assert.equal(await value, value);
  }
});

test("a DAG without groups serializes as before (no taskGroups key); with groups it round-trips", () => {
  const plain = dag({ dagId: "plain" }, () => empty("a")).serialize({ fileloc: "p.ts" });
  assert.equal("taskGroups" in plain, false);
  const grouped = dag({ dagId: "grouped" }, () => {
    const g = taskGroup("g", () => empty("a"), { tooltip: "tip" })();
    g.before(empty("b"));
  }).serialize({ fileloc: "g.ts" });
  const parsed = SerializedDagSchema.parse(JSON.parse(JSON.stringify(grouped)));
  assert.deepEqual(parsed, grouped);
  // A form stored before groups existed still parses, with no groups.
  const { taskGroups: _, ...older } = grouped;
  assert.equal(SerializedDagSchema.parse(older).taskGroups, undefined);
});
