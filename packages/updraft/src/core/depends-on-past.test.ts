import assert from "node:assert/strict";
import { test } from "node:test";
import { serializedDag, serializedTask } from "../test-support/serialized.ts";
import { blockedByPast, pastBlocks } from "./depends-on-past.ts";

const dag = serializedDag("past", [
  serializedTask("a", [], { dependsOnPast: true }),
  serializedTask("b", ["a"], { waitForDownstream: true }),
  serializedTask("c", ["b"]),
  serializedTask("free", []),
]);
const task = (id: string) => dag.tasks.find((t) => t.taskId === id)!;

test("depends-on-past: the previous instance must have succeeded or been skipped", () => {
  assert.equal(pastBlocks(dag, task("a"), new Map([["a", "success"]])), null);
  assert.equal(pastBlocks(dag, task("a"), new Map([["a", "skipped"]])), null);
  assert.equal(pastBlocks(dag, task("a"), new Map([["a", "failed"]])), "previous_not_successful");
  assert.equal(pastBlocks(dag, task("a"), new Map([["a", "none"]])), "previous_not_successful");
  // A task the previous run did not have, or a task that does not look back, is never held.
  assert.equal(pastBlocks(dag, task("a"), new Map()), null);
  assert.equal(pastBlocks(dag, task("free"), new Map([["free", "failed"]])), null);
});

test("wait-for-downstream also waits for the previous instance's direct downstream to finish", () => {
  const prior = new Map([
    ["a", "success"],
    ["b", "success"],
    ["c", "running"],
  ]);
  assert.equal(pastBlocks(dag, task("b"), prior), "downstream_not_finished");
  assert.deepEqual([...blockedByPast(dag, prior)], ["b"]);
  prior.set("c", "failed");
  assert.deepEqual([...blockedByPast(dag, prior)], []);
});
