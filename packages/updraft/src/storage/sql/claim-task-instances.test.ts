/** The claim's conformance suite: priorities, pools, parallelism, maxActiveTasks, concurrent claims. */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { SerializedDag, SerializedTask } from "../../core/serialized.ts";
import { serializedDag, serializedTask } from "../../test-support/serialized.ts";
import { forEachDatabase } from "../../test-support/databases.ts";
import type { Database } from "../database.ts";
import { dagRunStore } from "../dag-runs.ts";
import { dagStore } from "../dags.ts";
import { poolStore } from "../pools.ts";
import { claimTaskInstances } from "./claim-task-instances.ts";

function dag(dagId: string, tasks: Partial<SerializedTask>[], maxActiveTasks = 16): SerializedDag {
  const all = tasks.map((t, i) =>
    serializedTask(`t${i}`, [], { kind: "bash", weightRule: "absolute", ...t }),
  );
  return serializedDag(dagId, all, { maxActiveTasks });
}

async function setup(database: Database, d: SerializedDag, runId = "r1") {
  await dagStore(database).syncFile(
    { fileloc: d.fileloc, contentHash: runId, durationMs: 1, dags: [d], errors: [] },
    { pausedAtCreation: false },
  );
  const run = await dagRunStore(database).create({
    dag: d,
    runId,
    runType: "manual",
    logicalDate: null,
    dataIntervalStart: null,
    dataIntervalEnd: null,
    runAfter: "2025-01-01T00:00:00.000Z",
  });
  await database.db
    .updateTable("task_instance")
    .set({ state: "scheduled", scheduled_dttm: "2025-01-01T00:00:00.000Z" })
    .where("dag_run_id", "=", run.id)
    .execute();
  return run;
}

const claim = (database: Database, limit: number, parallelism = 32, jobId = 1) =>
  claimTaskInstances(database, { jobId, limit, parallelism, now: "2025-01-01T00:00:01.000Z" });

const reset = (database: Database) =>
  database.db
    .deleteFrom("dag_run")
    .execute()
    .then(() => database.db.deleteFrom("task_instance").execute());

forEachDatabase("claim task instances", (get) => {
  test("highest priority first, marked queued for the claiming scheduler", async () => {
    await setup(get(), dag("prio", [{ priorityWeight: 1 }, { priorityWeight: 10 }, { priorityWeight: 5 }]));
    const first = await claim(get(), 2, 32, 7);
    assert.deepEqual(
      first.map((c) => c.taskId),
      ["t1", "t2"],
    );
    const rows = await get()
      .db.selectFrom("task_instance")
      .select(["task_id", "state", "claimed_by_job_id"])
      .orderBy("task_id")
      .execute();
    assert.deepEqual(
      rows.map((r) => [r.task_id, r.state, r.claimed_by_job_id]),
      [
        ["t0", "scheduled", null],
        ["t1", "queued", 7],
        ["t2", "queued", 7],
      ],
    );
    assert.deepEqual(
      (await claim(get(), 10)).map((c) => c.taskId),
      ["t0"],
    );
    assert.deepEqual(await claim(get(), 10), []);
    await reset(get());
  });

  test("a pool's slots cap what runs in it, counting pool slots per task", async () => {
    await poolStore(get()).set({ name: "small", slots: 3 });
    await setup(
      get(),
      dag("pools", [
        { pool: "small", poolSlots: 2 },
        { pool: "small", poolSlots: 2 },
        { pool: "small" },
        { pool: "missing" },
      ]),
    );
    const got = (await claim(get(), 10)).map((c) => c.taskId).sort();
    assert.deepEqual(got, ["t0", "t2"], "2 + 1 slots fit in 3; a pool that does not exist waits");
    await reset(get());
  });

  test("parallelism and maxActiveTasks", async () => {
    await setup(get(), dag("capped", [{}, {}, {}, {}], 2));
    assert.equal((await claim(get(), 10)).length, 2, "maxActiveTasks 2");
    await reset(get());
    await setup(get(), dag("wide", [{}, {}, {}, {}, {}]));
    assert.equal((await claim(get(), 10, 3)).length, 3, "parallelism 3");
    assert.equal((await claim(get(), 10, 3)).length, 0);
    await reset(get());
  });

  test("claims at once never over-fill a pool or claim a task twice", async () => {
    await poolStore(get()).set({ name: "race", slots: 5 });
    await setup(
      get(),
      dag(
        "race",
        Array.from({ length: 40 }, () => ({ pool: "race" })),
      ),
    );
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => claim(get(), 3, 32, i + 1)));
    const all = results.flat().map((c) => c.taskId);
    assert.equal(new Set(all).size, all.length, "no task claimed twice");
    assert.equal(all.length, 5, "exactly the pool's 5 slots");
    await reset(get());
  });
});
