/**
 * Task groups as the views draw them: the graph with groups open or closed (edges into a closed group
 * go to it, merged), the fast layout's boxes around what they hold, the grid's rows, and a group's
 * summary state (Airflow's State.state_priority).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { withBoxes } from "./graph/boxes.ts";
import { layeredLayout } from "./graph/layered.ts";
import { ancestorsOf, gridRows, groupState, indexStructure, KIND, visibleGraph } from "./groups.ts";
import type { Structure } from "./structure-api.ts";

const task = (id: string, label = id) => ({ id, label, type: "task", operator: "EmptyOperator" });
const join = (id: string) => ({ id, label: "", type: "join" });

/** start >> etl (extract >> [load: one, two]) >> end; the shape structure_data answers with. */
const STRUCTURE: Structure = {
  nodes: [
    task("start"),
    {
      id: "etl",
      label: "etl",
      type: "task",
      tooltip: "ETL",
      ui_color: "#abcdef",
      children: [
        task("etl.extract", "extract"),
        {
          id: "etl.load",
          label: "load",
          type: "task",
          children: [task("etl.load.one", "one"), task("etl.load.two", "two")],
        },
        join("etl.upstream_join_id"),
        join("etl.downstream_join_id"),
      ],
    },
    task("end"),
  ],
  edges: [
    { source_id: "etl.downstream_join_id", target_id: "end" },
    { source_id: "etl.extract", target_id: "etl.load.one" },
    { source_id: "etl.extract", target_id: "etl.load.two" },
    { source_id: "etl.load.one", target_id: "etl.downstream_join_id" },
    { source_id: "etl.load.two", target_id: "etl.downstream_join_id" },
    { source_id: "etl.upstream_join_id", target_id: "etl.extract" },
    { source_id: "start", target_id: "etl.upstream_join_id" },
  ],
};

const edgeNames = (g: ReturnType<typeof visibleGraph>) =>
  Array.from(
    { length: g.edges.length / 2 },
    (_, e) => `${g.ids[g.edges[2 * e]!]}>${g.ids[g.edges[2 * e + 1]!]}`,
  );

test("indexStructure: groups with all their tasks, parents, labels, operators", () => {
  const index = indexStructure(STRUCTURE);
  assert.deepEqual(index.taskIds, ["start", "etl.extract", "etl.load.one", "etl.load.two", "end"]);
  assert.deepEqual(index.groups.get("etl")!.members, ["etl.extract", "etl.load.one", "etl.load.two"]);
  assert.equal(index.groups.get("etl")!.color, "#abcdef");
  assert.equal(index.groups.get("etl.load")!.color, "CornflowerBlue");
  assert.equal(index.labels.get("etl.load.two"), "two");
  assert.deepEqual(ancestorsOf(index, "etl.load.two"), ["etl", "etl.load"]);
  assert.deepEqual(ancestorsOf(index, "start"), []);
});

test("a closed group is one node, and the edges into and out of it are merged onto it", () => {
  const g = visibleGraph(STRUCTURE, new Set());
  assert.deepEqual(g.ids, ["start", "etl", "end"]);
  assert.deepEqual([...g.kinds], [KIND.task, KIND.group, KIND.task]);
  assert.deepEqual(edgeNames(g).sort(), ["etl>end", "start>etl"]);
  assert.deepEqual([...g.parents], [-1, -1, -1]);
});

test("an open group is a box holding its tasks, join nodes and (closed) inner groups", () => {
  const g = visibleGraph(STRUCTURE, new Set(["etl"]));
  assert.deepEqual(g.ids, [
    "start",
    "etl",
    "etl.extract",
    "etl.load",
    "etl.upstream_join_id",
    "etl.downstream_join_id",
    "end",
  ]);
  const kind = (id: string) => g.kinds[g.ids.indexOf(id)];
  assert.equal(kind("etl"), KIND.box);
  assert.equal(kind("etl.load"), KIND.group);
  assert.equal(kind("etl.upstream_join_id"), KIND.join);
  const box = g.ids.indexOf("etl");
  for (const id of ["etl.extract", "etl.load", "etl.upstream_join_id"])
    assert.equal(g.parents[g.ids.indexOf(id)], box);
  // extract's two edges into the closed inner group are one.
  assert.deepEqual(edgeNames(g).sort(), [
    "etl.downstream_join_id>end",
    "etl.extract>etl.load",
    "etl.load>etl.downstream_join_id",
    "etl.upstream_join_id>etl.extract",
    "start>etl.upstream_join_id",
  ]);
  // An inner group open inside a closed one changes nothing.
  assert.deepEqual(visibleGraph(STRUCTURE, new Set(["etl.load"])).ids, ["start", "etl", "end"]);
});

test("the fast layout puts each box around what it holds, inner boxes inside outer ones", () => {
  const g = visibleGraph(STRUCTURE, new Set(["etl", "etl.load"]));
  const size = { nodeWidth: 200, nodeHeight: 44, columnGap: 64, rowGap: 16 };
  const out = withBoxes({ key: "k", ...g, ...size }, (r) => layeredLayout(r));
  const rect = (id: string) => {
    const i = g.ids.indexOf(id);
    return { x0: out.xs[i]!, y0: out.ys[i]!, x1: out.xs[i]! + out.ws![i]!, y1: out.ys[i]! + out.hs![i]! };
  };
  const inside = (inner: string, outer: string) => {
    const [a, b] = [rect(inner), rect(outer)];
    return a.x0 >= b.x0 && a.y0 >= b.y0 && a.x1 <= b.x1 && a.y1 <= b.y1;
  };
  for (const id of ["etl.extract", "etl.load", "etl.load.one", "etl.load.two", "etl.upstream_join_id"])
    assert.ok(inside(id, "etl"), `${id} is inside etl`);
  assert.ok(inside("etl.load.one", "etl.load") && inside("etl.load", "etl"));
  assert.ok(!inside("start", "etl") && !inside("end", "etl"));
  assert.equal(out.ws![g.ids.indexOf("etl.upstream_join_id")], 12, "a join node is a dot");
  for (let i = 0; i < g.ids.length; i++) assert.ok(out.xs[i]! >= 0 && out.ys[i]! >= 0);
});

test("the grid's rows: a group's row stands for its tasks; open, its rows follow, indented", () => {
  const index = indexStructure(STRUCTURE);
  const closed = gridRows(STRUCTURE, index, new Set());
  assert.deepEqual(
    closed.map((r) => [r.id, r.depth, r.group, r.tasks.length]),
    [
      ["start", 0, false, 1],
      ["etl", 0, true, 3],
      ["end", 0, false, 1],
    ],
  );
  const open = gridRows(STRUCTURE, index, new Set(["etl", "etl.load"]));
  assert.deepEqual(
    open.map((r) => `${"  ".repeat(r.depth)}${r.label}`),
    ["start", "etl", "  extract", "  load", "    one", "    two", "end"],
  );
  assert.equal(open.find((r) => r.id === "etl")!.expanded, true);
});

test("a group's state: a failure first, then what waits or runs, then not started, then done", () => {
  assert.equal(groupState(["success", "failed", "running"]), "failed");
  assert.equal(groupState(["success", "upstream_failed"]), "upstream_failed");
  assert.equal(groupState(["success", "running", "queued"]), "queued");
  assert.equal(groupState(["success", null]), null);
  assert.equal(groupState(["success", "skipped"]), "success");
  assert.equal(groupState(["skipped", "skipped"]), "skipped");
  assert.equal(groupState([]), null);
});
