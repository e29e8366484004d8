import assert from "node:assert/strict";
import { test } from "node:test";
import { dag } from "./dag.ts";
import { chain } from "./handles.ts";
import { bash, branch, empty, shortCircuit } from "./tasks.ts";

test("branch and shortCircuit are TaskFlow tasks of their own kinds", () => {
  const d = dag({ dagId: "branchy" }, () => {
    const pick = branch("pick", (n: number) => (n > 1 ? "big" : ["small", "tiny"]));
    const gate = shortCircuit("gate", () => false, { ignoreDownstreamTriggerRules: false });
    const strict = shortCircuit("strict", () => true);
    chain(pick(2), [empty("big"), empty("small"), empty("tiny")]);
    chain(gate(), strict(), bash("after", { command: "true" }));
  });
  const s = d.serialize({ fileloc: "b.ts" });
  const byId = new Map(s.tasks.map((t) => [t.taskId, t]));
  assert.equal(byId.get("pick")?.kind, "branch");
  assert.deepEqual(byId.get("pick")?.args, [2]);
  assert.deepEqual(byId.get("gate")?.templateFields, { ignoreDownstreamTriggerRules: false });
  assert.deepEqual(byId.get("strict")?.templateFields, { ignoreDownstreamTriggerRules: true });
  assert.equal(byId.get("strict")?.kind, "short_circuit");
  assert.equal(typeof d.getTask("pick")?.fn, "function");
});

test("branch checks its function like task() does", () => {
  assert.throws(() => branch("b", "nope" as never), /task\(\) takes the task's function/);
});
