/**
 * Setup and teardown in the scheduler's decisions (Airflow's semantics): a teardown runs once its
 * upstream are done when a setup succeeded, whatever the work did; it is skipped with its skipped
 * setups and upstream_failed when none succeeded; and the run's state leaves teardowns out unless
 * they set onFailureFailDagrun.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { SerializedDag, SerializedTask } from "../core/serialized.ts";
import { runStateLeaves } from "../core/setup-teardown.ts";
import { serializedDag, serializedTask } from "../test-support/serialized.ts";
import { decideRun } from "./decide.ts";
import { runOutcome } from "./examine-runs.ts";

const setup = (id: string, up: string[] = []) => serializedTask(id, up, { isSetup: true });
const teardown = (id: string, up: string[], extra: Partial<SerializedTask> = {}) =>
  serializedTask(id, up, { isTeardown: true, triggerRule: "all_done_setup_success", ...extra });

/** create (setup) >> work >> report >> drop (teardown of create). */
const cluster: SerializedDag = serializedDag("cluster", [
  setup("create"),
  serializedTask("work", ["create"]),
  serializedTask("report", ["work"]),
  teardown("drop", ["create", "report"]),
]);

const states = (entries: Record<string, string>) => new Map(Object.entries(entries));

test("the work failed: its downstream fails upstream, the teardown still runs, and the run fails", () => {
  const d = decideRun(cluster, states({ create: "success", work: "failed", report: "none", drop: "none" }));
  assert.deepEqual(Object.fromEntries(d.settled), { report: "upstream_failed" });
  assert.deepEqual(d.ready, ["drop"], "the teardown runs: its setup succeeded");
  const final = states({ create: "success", work: "failed", report: "upstream_failed", drop: "success" });
  assert.equal(
    runOutcome(cluster, final),
    "failed",
    "a succeeding teardown does not turn a failed run green",
  );
});

test("the teardown waits for everything upstream of it to be done", () => {
  const d = decideRun(cluster, states({ create: "success", work: "running", report: "none", drop: "none" }));
  assert.deepEqual(d.ready, []);
  assert.equal(d.settled.size, 0);
});

test("a failed setup: the teardown is upstream_failed; a skipped setup: it is skipped", () => {
  const failed = decideRun(cluster, states({ create: "failed", work: "none", report: "none", drop: "none" }));
  assert.deepEqual(Object.fromEntries(failed.settled), {
    work: "upstream_failed",
    report: "upstream_failed",
    drop: "upstream_failed",
  });
  const skipped = decideRun(
    cluster,
    states({ create: "skipped", work: "none", report: "none", drop: "none" }),
  );
  assert.deepEqual(Object.fromEntries(skipped.settled), {
    work: "skipped",
    report: "skipped",
    drop: "skipped",
  });
});

test("a failing teardown does not fail a run whose work succeeded, unless onFailureFailDagrun", () => {
  const final = states({ create: "success", work: "success", report: "success", drop: "failed" });
  assert.equal(runOutcome(cluster, final), "success");
  const strict = serializedDag("strict", [
    ...cluster.tasks.slice(0, 3),
    teardown("drop", ["create", "report"], { onFailureFailDagrun: true }),
  ]);
  assert.equal(runOutcome(strict, final), "failed");
  assert.deepEqual([...runStateLeaves(strict)].sort(), ["drop"]);
  assert.deepEqual([...runStateLeaves(cluster)].sort(), ["report"]);
});

test("of two setups, one success is enough for the teardown", () => {
  const two = serializedDag("two", [
    setup("a"),
    setup("b"),
    serializedTask("w", ["a", "b"]),
    teardown("t", ["a", "b", "w"]),
  ]);
  const d = decideRun(two, states({ a: "success", b: "failed", w: "none", t: "none" }));
  assert.deepEqual(Object.fromEntries(d.settled), { w: "upstream_failed" });
  assert.deepEqual(d.ready, ["t"]);
});
