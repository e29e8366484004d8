import assert from "node:assert/strict";
import { test } from "node:test";
import { forEachDatabase } from "../test-support/databases.ts";
import { serializedDag, serializedTask } from "../test-support/serialized.ts";
import { dagRunStore } from "./dag-runs.ts";
import { dagStore } from "./dags.ts";
import { poolStore } from "./pools.ts";

forEachDatabase("pool store: usage and rename", (get) => {
  test("usage sums pool_slots per state; other states and pools do not count", async () => {
    const database = get();
    const states: Record<string, [string | null, number, string]> = {
      a: ["running", 2, "p"],
      b: ["running", 1, "p"],
      c: ["queued", 3, "p"],
      d: ["scheduled", 1, "p"],
      e: ["deferred", 4, "p"],
      f: ["success", 5, "p"],
      g: [null, 6, "p"],
      h: ["running", 7, "other"],
    };
    const d = serializedDag(
      "usage",
      Object.entries(states).map(([id, [, slots, pool]]) =>
        serializedTask(id, [], { pool, poolSlots: slots }),
      ),
    );
    await dagStore(database).syncFile(
      { fileloc: d.fileloc, contentHash: "x", durationMs: 1, dags: [d], errors: [] },
      { pausedAtCreation: false },
    );
    await dagRunStore(database).create({
      dag: d,
      runId: "r",
      runType: "manual",
      logicalDate: null,
      dataIntervalStart: null,
      dataIntervalEnd: null,
      runAfter: "2025-01-01T00:00:00.000Z",
    });
    // Test setup: states written directly (the state machine is not under test here).
    for (const [taskId, [state]] of Object.entries(states))
      await database.db.updateTable("task_instance").set({ state }).where("task_id", "=", taskId).execute();
    const pools = poolStore(database);
    await pools.set({ name: "p", slots: 10 });
    const usage = await pools.usage(["p", "empty"]);
    assert.deepEqual(usage.get("p"), { running: 3, queued: 3, scheduled: 1, deferred: 4 });
    assert.deepEqual(usage.get("empty"), { running: 0, queued: 0, scheduled: 0, deferred: 0 });
    assert.equal((await pools.usage([])).size, 0);
  });

  test("rename keeps the settings; default_pool and missing pools are refused", async () => {
    const pools = poolStore(get());
    await pools.set({ name: "before", slots: 3, description: "d", includeDeferred: true });
    await pools.rename("before", "after");
    assert.equal(await pools.get("before"), undefined);
    assert.deepEqual(await pools.get("after"), {
      name: "after",
      slots: 3,
      description: "d",
      includeDeferred: true,
    });
    await assert.rejects(pools.rename("default_pool", "x"), /cannot be renamed/);
    await assert.rejects(pools.rename("ghost", "x"), /does not exist/);
  });
});
