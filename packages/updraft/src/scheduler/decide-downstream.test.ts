/**
 * The light examination must decide exactly what the full one decides for the tasks downstream of what
 * changed, on every database: random upstream states over a wide fan-in (counted from the rest of the
 * run) and a narrow one (counted directly), with settled states propagating further down.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { TriggerRule } from "../core/trigger-rules.ts";
import { dagRunStore } from "../storage/dag-runs.ts";
import { fromDb } from "../storage/task-instances.ts";
import { forEachDatabase } from "../test-support/databases.ts";
import { serializedDag, serializedTask } from "../test-support/serialized.ts";
import { decideRun } from "./decide.ts";
import { decideDownstream } from "./decide-downstream.ts";

const WIDE = 80; // more than the 64 unknown upstreams read directly
const fan = Array.from({ length: WIDE }, (_, i) => `a${i}`);
const rule = (taskId: string, upstream: string[], triggerRule: TriggerRule) =>
  serializedTask(taskId, upstream, { triggerRule });
const DAG = serializedDag("light", [
  serializedTask("start"),
  ...fan.map((id) => serializedTask(id, ["start"])),
  rule("all_ok", fan, "all_success"),
  rule("any_failed", fan, "one_failed"),
  rule("finished", fan, "all_done"),
  rule("no_failures", ["a0", "a1", "a2"], "none_failed"),
  rule("after", ["no_failures", "all_ok"], "all_success"),
]);
const DOWNSTREAM = ["all_ok", "any_failed", "finished", "no_failures", "after"];
const STATES = ["success", "success", "success", "failed", "skipped", "upstream_failed", "running", "none"];

/** A small deterministic generator, so a failure can be replayed. */
function random(seed: number) {
  return () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
}

forEachDatabase("light examination", (get) => {
  test("decides the downstream of what finished exactly as the full examination", async () => {
    const database = get();
    const next = random(7);
    const decided = { ready: 0, settled: 0 };
    for (let trial = 0; trial < 12; trial++) {
      const at = "2025-01-01T00:00:00.000Z";
      const run = await dagRunStore(database).create({
        dag: DAG,
        runId: `light_${trial}`,
        runType: "manual",
        logicalDate: at,
        dataIntervalStart: at,
        dataIntervalEnd: at,
        runAfter: at,
        state: "running",
      });
      // Mostly-finished fans in some trials, so rules that wait for everything get decided too.
      const mostlyDone = trial % 3 === 0;
      const states = new Map<string, string>([["start", "success"]]);
      for (const id of fan) {
        const state = mostlyDone
          ? STATES[Math.floor(next() * 5)]!
          : STATES[Math.floor(next() * STATES.length)]!;
        states.set(id, state);
      }
      for (const id of DOWNSTREAM) states.set(id, "none");
      for (const [taskId, state] of states)
        await database.db
          .updateTable("task_instance")
          .set({ state: state === "none" ? null : state })
          .where("dag_run_id", "=", run.id)
          .where("task_id", "=", taskId)
          .execute();
      const finished = fan.filter((id) => !["running", "none"].includes(states.get(id)!));

      const full = decideRun(DAG, states);
      decided.ready += full.ready.filter((id) => DOWNSTREAM.includes(id)).length;
      decided.settled += [...full.settled.keys()].filter((id) => DOWNSTREAM.includes(id)).length;
      const expected = new Map(states);
      for (const [id, state] of full.settled) expected.set(id, state);
      for (const id of full.ready) expected.set(id, "scheduled");

      const result = await database.db.transaction().execute((trx) =>
        decideDownstream({ ...database, db: trx }, trx, DAG, run, finished, {
          now: at,
          mayStart: () => true,
        }),
      );
      const rows = await database.db
        .selectFrom("task_instance")
        .select(["task_id", "state"])
        .where("dag_run_id", "=", run.id)
        .where("task_id", "in", DOWNSTREAM)
        .execute();
      const actual = Object.fromEntries(rows.map((r) => [r.task_id, fromDb(r.state)]));
      const wanted = Object.fromEntries(DOWNSTREAM.map((id) => [id, expected.get(id)]));
      assert.deepEqual(actual, wanted, `trial ${trial}, fan states ${JSON.stringify([...states])}`);
      assert.equal(result, "done", "the run still has unfinished task instances");
    }
    // The trials must have exercised both outcomes, or the comparison above proves little.
    assert.ok(decided.ready > 3 && decided.settled > 3, JSON.stringify(decided));
  });
});
