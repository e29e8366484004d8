/** Trigger-rule evaluation against Airflow's own test vectors, and skip propagation through a graph. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import {
  evaluateRule,
  passes,
  TRIGGER_RULES,
  type TriggerRule,
  type UpstreamCounts,
} from "../core/trigger-rules.ts";
import type { SerializedDag, SerializedTask } from "../core/serialized.ts";
import { decideRun } from "./decide.ts";

interface Vector {
  id: string;
  input: {
    trigger_rule: string;
    map_index: number;
    wait_for_past_depends_before_skipping: boolean;
    past_depends_met: boolean | null;
    upstream_total: number;
    upstream_setup_total: number;
    flag_upstream_failed: boolean;
    counts: Record<string, number>;
  };
  expected: { passed: boolean; new_state: string | null };
}

const fixture = JSON.parse(
  readFileSync(
    new URL("../../test-fixtures/airflow/airflow-trigger-rule-vectors.json", import.meta.url),
    "utf8",
  ),
) as { vectors: Vector[] };
const SUPPORTED = new Set<string>(TRIGGER_RULES);

describe("trigger rules: Airflow's vectors", () => {
  // Mapped task instances (map_index >= 0) count removed upstreams differently; mapping comes later.
  // Held back by dependsOnPast: decideRun's mayStart covers it (tested below), not the rule itself.
  const heldBack = (x: Vector) => x.input.wait_for_past_depends_before_skipping && !x.input.past_depends_met;
  for (const v of fixture.vectors.filter(
    (x) => SUPPORTED.has(x.input.trigger_rule) && x.input.map_index < 0 && !heldBack(x),
  )) {
    test(v.id, () => {
      const c = v.input.counts;
      const counts: UpstreamCounts = {
        total: v.input.upstream_total,
        success: c.success ?? 0,
        failed: c.failed ?? 0,
        upstreamFailed: c.upstream_failed ?? 0,
        skipped: c.skipped ?? 0,
        removed: c.removed ?? 0,
        done: c.done ?? 0,
        setups: v.input.upstream_setup_total,
        setupSuccess: c.success_setup ?? 0,
        setupSkipped: c.skipped_setup ?? 0,
      };
      const rule = v.input.trigger_rule as TriggerRule;
      if (!v.input.flag_upstream_failed) {
        // Evaluation only: does the dependency pass?
        assert.equal(passes(rule, counts), v.expected.passed);
        return;
      }
      // In the scheduler a state the rule sets wins (Airflow sets it even when the dependency passed).
      const expected = v.expected.new_state ?? (v.expected.passed ? "run" : "wait");
      assert.equal(evaluateRule(rule, counts), expected);
    });
  }
});

describe("decideRun", () => {
  const task = (taskId: string, upstream: string[], triggerRule: TriggerRule = "all_success") =>
    ({ taskId, upstream, triggerRule }) as SerializedTask;
  const dag = {
    tasks: [task("a", []), task("b", ["a"]), task("c", ["b"]), task("d", ["c"], "all_done"), task("e", [])],
  } as SerializedDag;

  test("roots run; a failure propagates upstream_failed down the chain in one pass; all_done then runs", () => {
    const d = decideRun(
      dag,
      new Map([
        ["a", "failed"],
        ["e", "none"],
      ]),
    );
    assert.deepEqual(Object.fromEntries(d.settled), { b: "upstream_failed", c: "upstream_failed" });
    assert.deepEqual(d.ready, ["d", "e"]);
  });

  test("a task held back by its previous run neither runs nor settles", () => {
    const d = decideRun(dag, new Map([["a", "skipped"]]), (id) => id !== "b" && id !== "e");
    assert.deepEqual(Object.fromEntries(d.settled), {});
    assert.deepEqual(d.ready, []);
  });

  test("a mapped upstream counts each of its instances, as Airflow counts task instances", () => {
    const fan = {
      tasks: [
        task("m", []),
        task("all", ["m"]),
        task("one", ["m"], "one_success"),
        task("done", ["m"], "all_done"),
        task("failed", ["m"], "one_failed"),
      ],
    } as SerializedDag;
    const d = decideRun(fan, new Map([["m", ["success", "failed", "running"]]]));
    // One failed instance fails all_success at once; one success is enough for one_success.
    assert.deepEqual(Object.fromEntries(d.settled), { all: "upstream_failed" });
    assert.deepEqual(d.ready, ["one", "failed"]);
    // all_done waits for the running instance; then every instance is done.
    const later = decideRun(fan, new Map([["m", ["success", "failed", "success"]]]));
    assert.ok(later.ready.includes("done"));
    // A mapped task's unstarted instances are decided together.
    const mapped = decideRun(
      fan,
      new Map<string, string | string[]>([
        ["m", "failed"],
        ["all", ["none", "none"]],
      ]),
    );
    assert.equal(mapped.settled.get("all"), "upstream_failed");
  });
});
