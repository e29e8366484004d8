import assert from "node:assert/strict";
import { test } from "node:test";
import { SERIALIZED_DAG_VERSION, type SerializedDag, type SerializedTask } from "./serialized.ts";
import { allDownstream, allUpstream, priorityWeights, reachable, taskDepths, upstreamOf } from "./graph.ts";

const task = (
  taskId: string,
  upstream: string[],
  weight = 1,
  weightRule: SerializedTask["weightRule"] = "downstream",
) => ({ taskId, upstream, priorityWeight: weight, weightRule }) as SerializedTask;
const dag = (tasks: SerializedTask[]) =>
  ({ version: SERIALIZED_DAG_VERSION, dagId: "d", tasks }) as SerializedDag;

test("downstream weights add every task after, once each (a diamond counts d once)", () => {
  const w = priorityWeights(
    dag([task("a", []), task("b", ["a"]), task("c", ["a"], 5), task("d", ["b", "c"], 2)]),
  );
  assert.deepEqual(Object.fromEntries(w), { a: 1 + 1 + 5 + 2, b: 1 + 2, c: 5 + 2, d: 2 });
});

test("upstream and absolute weight rules", () => {
  const w = priorityWeights(
    dag([task("a", [], 3), task("b", ["a"], 1, "upstream"), task("c", ["b"], 7, "absolute")]),
  );
  assert.equal(w.get("b"), 4);
  assert.equal(w.get("c"), 7);
});

test("depths follow the longest path from a root", () => {
  const d = taskDepths(dag([task("a", []), task("b", ["a"]), task("c", ["a", "b"])]));
  assert.deepEqual(Object.fromEntries(d), { a: 0, b: 1, c: 2 });
});

test("reachable walks the transitive closure once per task, from several starts", () => {
  const d = dag([task("a", []), task("b", ["a"]), task("c", ["a"]), task("d", ["b", "c"]), task("e", [])]);
  assert.deepEqual([...allDownstream(d, "a")].sort(), ["b", "c", "d"]);
  assert.deepEqual([...allUpstream(d, "d")].sort(), ["a", "b", "c"]);
  assert.deepEqual([...reachable(["b", "c"], upstreamOf(d))], ["a"]);
  assert.deepEqual([...allDownstream(d, "e")], []);
});
