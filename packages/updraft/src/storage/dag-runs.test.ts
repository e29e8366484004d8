import assert from "node:assert/strict";
import { test } from "node:test";
import type { SerializedDag, SerializedTask } from "../core/serialized.ts";
import { serializedDag, serializedTask } from "../test-support/serialized.ts";
import { forEachDatabase } from "../test-support/databases.ts";
import { dagRunStore } from "./dag-runs.ts";

const task = (taskId: string, upstream: string[] = [], extra: Partial<SerializedTask> = {}) =>
  serializedTask(taskId, upstream, {
    kind: "bash",
    retries: 2,
    templateFields: { command: "true" },
    ...extra,
  });
const dag = (tasks: SerializedTask[]) => serializedDag("runs", tasks);

const run = (runId: string, d: SerializedDag, logicalDate = "2025-01-01T00:00:00.000Z") => ({
  dag: d,
  runId,
  runType: "manual" as const,
  logicalDate,
  dataIntervalStart: logicalDate,
  dataIntervalEnd: logicalDate,
  runAfter: logicalDate,
  conf: { x: 1 },
});

forEachDatabase("dag run store", (get) => {
  test("creates a run with a task instance per task, weights and retries applied", async () => {
    const store = dagRunStore(get());
    const d = dag([task("a"), task("b", ["a"], { priorityWeight: 3, pool: "p", poolSlots: 2 })]);
    const created = await store.create(run("manual__1", d));
    assert.equal(created.state, "queued");
    assert.equal(created.conf, '{"x":1}');
    const tis = await get()
      .db.selectFrom("task_instance")
      .selectAll()
      .where("dag_run_id", "=", created.id)
      .orderBy("task_id")
      .execute();
    assert.deepEqual(
      tis.map((t) => [
        t.task_id,
        t.state,
        t.try_number,
        t.max_tries,
        t.priority_weight,
        t.pool,
        t.pool_slots,
        t.operator,
      ]),
      [
        ["a", null, 0, 2, 4, "default_pool", 1, "bash"],
        ["b", null, 0, 2, 3, "p", 2, "bash"],
      ],
    );
  });

  test("a run id that exists is refused and nothing is half-written", async () => {
    const store = dagRunStore(get());
    const d = dag([task("a")]);
    await assert.rejects(store.create(run("manual__1", d)), /already has a run "manual__1"/);
    const n = await get()
      .db.selectFrom("task_instance")
      .select("task_id")
      .where("run_id", "=", "manual__1")
      .execute();
    assert.equal(n.length, 2);
  });

  test("creates a 2,000-task run in batches", async () => {
    const store = dagRunStore(get());
    const d = dag(Array.from({ length: 2000 }, (_, i) => task(`t${i}`)));
    const created = await store.create(run("big", d, "2025-01-02T00:00:00.000Z"));
    const tis = await get()
      .db.selectFrom("task_instance")
      .select("task_id")
      .where("dag_run_id", "=", created.id)
      .execute();
    assert.equal(tis.length, 2000);
  });

  test("state changes stamp start and end; active runs are counted; the last scheduled run is found", async () => {
    const store = dagRunStore(get());
    const r = (await store.get("runs", "manual__1"))!;
    await store.setState(r.id, "running", "2025-01-01T01:00:00.000Z");
    await store.setState(r.id, "running", "2025-01-01T02:00:00.000Z");
    assert.equal((await store.get("runs", "manual__1"))?.start_date, "2025-01-01T01:00:00.000Z");
    assert.equal(await store.countActive("runs"), 2);
    await store.setState(r.id, "success", "2025-01-01T03:00:00.000Z");
    assert.equal((await store.get("runs", "manual__1"))?.end_date, "2025-01-01T03:00:00.000Z");
    assert.equal(await store.countActive("runs"), 1);
    assert.equal(await store.lastScheduled("runs"), undefined);
    const d = dag([task("a")]);
    await store.create({
      ...run("scheduled__a", d, "2025-02-01T00:00:00.000Z"),
      runType: "scheduled",
      dataIntervalEnd: "2025-02-02T00:00:00.000Z",
    });
    await store.create({
      ...run("scheduled__b", d, "2025-01-01T00:00:00.000Z"),
      runType: "scheduled",
      dataIntervalEnd: "2025-01-02T00:00:00.000Z",
    });
    assert.equal((await store.lastScheduled("runs"))?.run_id, "scheduled__a");
    assert.deepEqual(
      (await store.list({ dagId: "runs", states: ["success"] })).map((x) => x.run_id),
      ["manual__1"],
    );
  });

  test("transition moves a run only from the state it expects; previous finds the run before by logical date", async () => {
    const store = dagRunStore(get());
    const d = dag([task("a")]);
    const r = await store.create(run("guarded", d, "2025-03-01T00:00:00.000Z"));
    // A stale writer (it read "running", the run is queued) changes nothing and is told so.
    assert.equal(
      await store.transition(r.id, "running", "success", { end_date: "2025-03-02T00:00:00.000Z" }),
      false,
    );
    assert.equal((await store.get("runs", "guarded"))?.state, "queued");
    assert.equal((await store.get("runs", "guarded"))?.end_date, null);
    assert.equal(
      await store.transition(r.id, ["queued", "running"], "running", {
        start_date: "2025-03-01T00:00:00.000Z",
      }),
      true,
    );
    assert.equal(
      await store.transition(r.id, "running", "failed", { end_date: "2025-03-01T01:00:00.000Z" }),
      true,
    );
    const after = (await store.get("runs", "guarded"))!;
    assert.deepEqual([after.state, after.end_date], ["failed", "2025-03-01T01:00:00.000Z"]);
    const seconds = (Date.parse(after.end_date!) - Date.parse(after.start_date!)) / 1000;
    assert.ok(
      Math.abs(after.duration! - seconds) < 0.01,
      `duration ${after.duration} stored with the end (${seconds})`,
    );
    assert.equal(await store.transition(r.id, "failed", "queued", { end_date: null }), true);
    assert.equal((await store.get("runs", "guarded"))?.duration, null, "no end, no duration");
    assert.equal(
      await store.transition(r.id, "queued", "failed", { end_date: "2025-03-01T01:00:00.000Z" }),
      true,
    );
    // The latest logical date before this run's, whatever the order runs were created in.
    await store.create(run("older", d, "2025-02-27T00:00:00.000Z"));
    await store.create(run("newer_but_before", d, "2025-02-28T00:00:00.000Z"));
    assert.equal((await store.previous(after))?.run_id, "newer_but_before");
    assert.equal(
      await store.previous({ dag_id: "runs", logical_date: "2024-01-01T00:00:00.000Z" }),
      undefined,
    );
  });
});
