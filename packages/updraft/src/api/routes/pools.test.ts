import assert from "node:assert/strict";
import { test } from "node:test";
import type { TaskInstanceState } from "../../core/states.ts";
import { triggerDagRun } from "../../operations/trigger-run.ts";
import { poolStore } from "../../storage/pools.ts";
import { taskInstanceStore } from "../../storage/task-instances.ts";
import { forEachApiDatabase } from "../../test-support/api.ts";

const DAG = `import { dag, empty } from "updraft";
export default dag({ dagId: "pooled", schedule: null, startDate: "2024-01-01" }, () => {
  empty("r1", { pool: "etl", poolSlots: 2 });
  empty("r2", { pool: "etl" });
  empty("q1", { pool: "etl", poolSlots: 3 });
  empty("s1", { pool: "etl" });
  empty("d1", { pool: "etl", poolSlots: 4 });
  empty("done", { pool: "etl", poolSlots: 5 });
});
`;

/** The states each task instance is walked through, legally, by the state machine. */
const PATHS: Record<string, TaskInstanceState[]> = {
  r1: ["scheduled", "queued", "running"],
  r2: ["scheduled", "queued", "running"],
  q1: ["scheduled", "queued"],
  s1: ["scheduled"],
  d1: ["scheduled", "queued", "running", "deferred"],
  done: ["scheduled", "queued", "running", "success"],
};

forEachApiDatabase("pools API", { dags: { "pooled.ts": DAG } }, (get) => {
  test("default_pool is listed; Viewer reads pools but may not change them, nor may User; Op may", async () => {
    const list = await get().call("get_pools", { as: "Viewer" });
    assert.equal(list.status, 200);
    const pool = list.body.pools.find((p: { name: string }) => p.name === "default_pool");
    assert.equal(pool.slots, 128);
    assert.equal(pool.open_slots, 128);
    for (const as of ["Viewer", "User"] as const) {
      const denied = await get().call("post_pool", { as, body: { name: "nope", slots: 1 } });
      assert.equal(denied.status, 403);
    }
    assert.equal(await poolStore(get().database).get("nope"), undefined);
    assert.equal(
      (await get().call("post_pool", { as: "Op", body: { name: "by_op", slots: 1 } })).status,
      201,
    );
    assert.equal((await get().call("delete_pool", { as: "Op", path: { pool_name: "by_op" } })).status, 204);
  });

  test("slots taken by running, queued, scheduled and deferred task instances", async () => {
    const created = await get().call("post_pool", {
      body: { name: "etl", slots: 10, description: "ETL jobs" },
    });
    assert.equal(created.status, 201);
    assert.equal(created.body.open_slots, 10);
    const run = await triggerDagRun(get().database, { dagId: "pooled", runId: "r" });
    const tis = taskInstanceStore(get().database);
    for (const [taskId, path] of Object.entries(PATHS)) {
      let from: TaskInstanceState = "none";
      for (const to of path) {
        assert.ok(await tis.transition({ dagId: "pooled", runId: run.run_id, taskId }, from, to));
        from = to;
      }
    }
    const pool = await get().call("get_pool", { path: { pool_name: "etl" } });
    assert.equal(pool.status, 200);
    assert.deepEqual(pool.body, {
      name: "etl",
      slots: 10,
      description: "ETL jobs",
      include_deferred: false,
      occupied_slots: 6,
      running_slots: 3,
      queued_slots: 3,
      scheduled_slots: 1,
      deferred_slots: 4,
      open_slots: 4,
      team_name: null,
    });
    const deferred = await get().call("patch_pool", {
      path: { pool_name: "etl" },
      query: { update_mask: ["include_deferred"] },
      body: { include_deferred: true, slots: 1 },
    });
    assert.equal(deferred.status, 200);
    assert.equal(deferred.body.slots, 10, "slots was not in the mask");
    assert.equal(deferred.body.occupied_slots, 10);
    assert.equal(deferred.body.open_slots, 0);
    const unlimited = await get().call("patch_pool", { path: { pool_name: "etl" }, body: { slots: -1 } });
    assert.equal(unlimited.body.open_slots, -1);
    assert.equal(unlimited.body.description, "ETL jobs");
  });

  test("create errors: 409 duplicate, 422 invalid slots or body", async () => {
    const dup = await get().call("post_pool", { body: { name: "default_pool", slots: 3 } });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.detail, "The Pool with name: `default_pool` already exists");
    assert.equal((await get().call("post_pool", { body: { name: "p", slots: -2 } })).status, 422);
    assert.equal((await get().call("post_pool", { body: { name: "p" } })).status, 422);
    assert.equal((await get().call("post_pool", { body: { name: " ", slots: 1 } })).status, 422);
    assert.equal(await poolStore(get().database).get("p"), undefined);
  });

  test("default_pool cannot be deleted or renamed; its slots can change", async () => {
    const del = await get().call("delete_pool", { path: { pool_name: "default_pool" } });
    assert.equal(del.status, 400);
    assert.equal(del.body.detail, "Default Pool can't be deleted");
    const rename = await get().call("patch_pool", {
      path: { pool_name: "default_pool" },
      body: { pool: "other" },
    });
    assert.equal(rename.status, 400);
    assert.equal(rename.body.detail, "Only slots and included_deferred can be modified on Default Pool");
    const slots = await get().call("patch_pool", {
      path: { pool_name: "default_pool" },
      body: { slots: 64 },
    });
    assert.equal(slots.status, 200);
    assert.equal(slots.body.slots, 64);
    assert.equal((await poolStore(get().database).get("default_pool"))?.slots, 64);
  });

  test("rename, 404s, update_mask errors, delete, list filters and audit", async () => {
    await get().call("post_pool", { body: { name: "old_name", slots: 2, include_deferred: true } });
    const renamed = await get().call("patch_pool", {
      path: { pool_name: "old_name" },
      body: { pool: "new_name" },
    });
    assert.equal(renamed.status, 200);
    assert.equal(renamed.body.name, "new_name");
    assert.equal(renamed.body.include_deferred, true);
    assert.equal((await get().call("get_pool", { path: { pool_name: "old_name" } })).status, 404);
    const taken = await get().call("patch_pool", { path: { pool_name: "new_name" }, body: { pool: "etl" } });
    assert.equal(taken.status, 400);
    const badMask = await get().call("patch_pool", {
      path: { pool_name: "new_name" },
      query: { update_mask: ["colour"] },
      body: { slots: 3 },
    });
    assert.equal(badMask.status, 400);
    const missing = await get().call("patch_pool", { path: { pool_name: "ghost" }, body: { slots: 1 } });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.detail, "The Pool with name: `ghost` was not found");

    const list = await get().call("get_pools", {
      query: { pool_name_pattern: "_NAME|etl", order_by: ["-name"] },
    });
    assert.deepEqual(
      list.body.pools.map((p: { name: string }) => p.name),
      ["new_name", "etl"],
    );
    const page = await get().call("get_pools", { query: { order_by: ["name"], limit: 1, offset: 1 } });
    assert.equal(page.body.total_entries, 3);
    assert.deepEqual(
      page.body.pools.map((p: { name: string }) => p.name),
      ["etl"],
    );

    assert.equal((await get().call("delete_pool", { path: { pool_name: "new_name" } })).status, 204);
    assert.equal((await get().call("delete_pool", { path: { pool_name: "new_name" } })).status, 404);
    const audit = await get().call("get_event_logs", {
      query: { event_pattern: "pool", order_by: ["-id"], limit: 3 },
    });
    assert.deepEqual(
      audit.body.event_logs.map((e: { event: string }) => e.event),
      ["delete_pool", "patch_pool", "post_pool"],
    );
    assert.deepEqual(JSON.parse(audit.body.event_logs[1].extra).new_name, "new_name");
  });

  test("bulk create / update / delete", async () => {
    const r = await get().call("bulk_pools", {
      body: {
        actions: [
          {
            action: "create",
            entities: [
              { name: "b1", slots: 1 },
              { name: "b2", slots: 2 },
            ],
          },
          {
            action: "update",
            entities: [{ name: "b1", slots: 5, description: "five" }],
            update_mask: ["slots"],
          },
          { action: "update", entities: [{ name: "ghost", slots: 5 }] },
          { action: "delete", action_on_non_existence: "skip", entities: ["b2", "default_pool", "ghost"] },
        ],
      },
    });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.create, { success: ["b1", "b2"], errors: [] });
    assert.deepEqual(r.body.update, {
      success: ["b1"],
      errors: [{ error: "The pools with these pool names: {'ghost'} were not found.", status_code: 404 }],
    });
    assert.deepEqual(r.body.delete, {
      success: ["b2"],
      errors: [{ error: "Default Pool can't be deleted", status_code: 400 }],
    });
    const b1 = await poolStore(get().database).get("b1");
    assert.equal(b1?.slots, 5);
    assert.equal(b1?.description, null);
    assert.equal(await poolStore(get().database).get("b2"), undefined);
    const overwrite = await get().call("bulk_pools", {
      body: {
        actions: [
          {
            action: "create",
            action_on_existence: "overwrite",
            entities: [{ name: "b1", slots: 7, description: "seven" }],
          },
        ],
      },
    });
    assert.deepEqual(overwrite.body.create.success, ["b1"]);
    assert.equal((await poolStore(get().database).get("b1"))?.description, "seven");
    assert.equal((await get().call("bulk_pools", { as: "User", body: { actions: [] } })).status, 403);
  });
});
