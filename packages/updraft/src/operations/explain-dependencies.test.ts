/** "Why is this task not running": the scheduler's own rules, so the answer matches what it does. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { dagRunStore } from "../storage/dag-runs.ts";
import { dagStore } from "../storage/dags.ts";
import { findTi } from "../storage/task-instance-rows.ts";
import { forEachDatabase } from "../test-support/databases.ts";
import { serializedDag, serializedTask } from "../test-support/serialized.ts";
import { explainDependencies } from "./explain-dependencies.ts";

const dag = serializedDag("past", [serializedTask("a", [], { dependsOnPast: true })]);

forEachDatabase("explain dependencies", (get) => {
  test("depends_on_past looks back at the previous logical date, as the scheduler does, not the previous run_after", async () => {
    const database = get();
    await dagStore(database).syncFile(
      { fileloc: dag.fileloc, contentHash: "h", durationMs: 1, dags: [dag], errors: [] },
      { pausedAtCreation: false },
    );
    const runs = dagRunStore(database);
    const make = (runId: string, logicalDate: string, runAfter: string) =>
      runs.create({
        dag,
        runId,
        runType: "manual",
        logicalDate,
        dataIntervalStart: logicalDate,
        dataIntervalEnd: logicalDate,
        runAfter,
      });
    // day2 was triggered late (run_after after day3's) for the date between day1 and day3.
    const day1 = await make("day1", "2025-01-01T00:00:00.000Z", "2025-01-01T00:00:00.000Z");
    await make("day3", "2025-01-03T00:00:00.000Z", "2025-01-03T00:00:00.000Z");
    const day2 = await make("day2", "2025-01-02T00:00:00.000Z", "2025-01-05T00:00:00.000Z");
    const set = (id: number, state: string | null) =>
      database.db.updateTable("task_instance").set({ state }).where("dag_run_id", "=", id).execute();
    await set(day1.id, "success");
    await set(day2.id, "failed");
    const names = async (runId: string) =>
      (
        await explainDependencies(
          database,
          (await findTi(database, { dagId: "past", runId, taskId: "a", mapIndex: -1 }))!,
        )
      ).map((d) => d.name);
    // day3 looks back at day2 (failed), not at day1, the run before it by run_after.
    assert.ok((await names("day3")).includes("Previous Dagrun State"));
    await set(day2.id, null);
    // day2 looks back at day1 (succeeded), not at day3 (not run yet), the run before it by run_after.
    assert.ok(!(await names("day2")).includes("Previous Dagrun State"));
    assert.ok(!(await names("day1")).includes("Previous Dagrun State"));
  });
});
