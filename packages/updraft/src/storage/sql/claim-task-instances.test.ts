/** The claim's conformance suite: priorities, pools, parallelism, maxActiveTasks, concurrent claims. */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { SerializedDag, SerializedTask } from "../../core/serialized.ts";
import { serializedDag, serializedTask } from "../../test-support/serialized.ts";
import { forEachDatabase } from "../../test-support/databases.ts";
import { closeAll, openSiblings } from "../../test-support/sibling-databases.ts";
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
  let schedulers: Database[] = [];
  before(async () => {
    schedulers = await openSiblings(get(), 3);
  });
  after(() => closeAll(schedulers));

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

  test("a pool with include_deferred counts its deferred task instances", async () => {
    await poolStore(get()).set({ name: "waiting", slots: 1, includeDeferred: true });
    await poolStore(get()).set({ name: "plain", slots: 1 });
    const run = await setup(
      get(),
      dag("deferring", [{ pool: "waiting" }, { pool: "waiting" }, { pool: "plain" }, { pool: "plain" }]),
    );
    await get()
      .db.updateTable("task_instance")
      .set({ state: "deferred" })
      .where("dag_run_id", "=", run.id)
      .where("task_id", "in", ["t0", "t2"])
      .execute();
    const got = (await claim(get(), 10)).map((c) => c.taskId);
    assert.deepEqual(got, ["t3"], "waiting: its one slot is the deferred t0's; plain ignores deferred");
    assert.deepEqual(await claim(get(), 10), []);
    await reset(get());
  });

  test("waiting task instances (deferred, up_for_reschedule) hold no slot of maxActiveTasks or parallelism", async () => {
    const run = await setup(get(), dag("waiting_dag", [{}, {}, {}, {}, {}, {}], 2));
    await get()
      .db.updateTable("task_instance")
      .set({ state: "deferred" })
      .where("dag_run_id", "=", run.id)
      .where("task_id", "in", ["t0", "t1"])
      .execute();
    await get()
      .db.updateTable("task_instance")
      .set({ state: "up_for_reschedule" })
      .where("dag_run_id", "=", run.id)
      .where("task_id", "in", ["t2", "t3"])
      .execute();
    const got = (await claim(get(), 10, 2)).map((c) => c.taskId);
    assert.deepEqual(got, ["t4", "t5"], "maxActiveTasks 2 and parallelism 2 are all free");
    await reset(get());
  });

  test("a task instance cleared while running (restarting) still holds its slots", async () => {
    await poolStore(get()).set({ name: "one", slots: 1 });
    const run = await setup(get(), dag("restarting", [{ pool: "one" }, { pool: "one" }, {}, {}], 2));
    await get()
      .db.updateTable("task_instance")
      .set({ state: "restarting" })
      .where("dag_run_id", "=", run.id)
      .where("task_id", "=", "t0")
      .execute();
    const got = (await claim(get(), 10)).map((c) => c.taskId);
    assert.deepEqual(got, ["t2"], "maxActiveTasks 2 with t0 restarting; pool one is t0's");
    await reset(get());
  });

  test("3 schedulers claiming in a loop never pass a pool, maxActiveTasks or parallelism", async () => {
    await poolStore(get()).set({ name: "narrow", slots: 3 });
    await setup(
      get(),
      dag(
        "capped_dag",
        Array.from({ length: 30 }, () => ({})),
        4,
      ),
      "a",
    );
    await setup(
      get(),
      dag(
        "pooled_dag",
        Array.from({ length: 30 }, () => ({ pool: "narrow" })),
      ),
      "b",
    );
    await setup(
      get(),
      dag(
        "free_dag",
        Array.from({ length: 30 }, () => ({})),
      ),
      "c",
    );
    const over: string[] = [];
    for (let round = 0; round < 30; round++) {
      await Promise.all(schedulers.map((s, i) => claim(s, 4, 8, i + 1)));
      const active = await activeNow(get());
      const worst = {
        capped_dag: active.byDag.get("capped_dag") ?? 0,
        narrow: active.byPool.get("narrow") ?? 0,
        total: active.total,
      };
      if (worst.capped_dag > 4 || worst.narrow > 3 || worst.total > 8)
        over.push(`round ${round}: ${JSON.stringify(worst)}`);
      await finishSome(get(), round);
    }
    assert.deepEqual(over, [], `caps exceeded in ${over.length} of 30 rounds`);
    await reset(get());
  });
});

async function activeNow(database: Database) {
  const rows = await database.db
    .selectFrom("task_instance")
    .select(["dag_id", "pool"])
    .where("state", "in", ["queued", "running"])
    .execute();
  const count = (key: (r: (typeof rows)[number]) => string) =>
    new Map([...Map.groupBy(rows, key)].map(([k, v]) => [k, v.length]));
  return { byDag: count((r) => r.dag_id), byPool: count((r) => r.pool), total: rows.length };
}

/** Some claimed task instances run, some finish: slots free up and the next round claims again. */
async function finishSome(database: Database, round: number) {
  const active = await database.db
    .selectFrom("task_instance")
    .select(["dag_id", "run_id", "task_id", "state"])
    .where("state", "in", ["queued", "running"])
    .orderBy("task_id")
    .execute();
  for (const [i, ti] of active.entries()) {
    const to = ti.state === "queued" ? "running" : (i + round) % 2 === 0 ? "success" : null;
    if (!to) continue;
    await database.db
      .updateTable("task_instance")
      .set({ state: to })
      .where("dag_id", "=", ti.dag_id)
      .where("run_id", "=", ti.run_id)
      .where("task_id", "=", ti.task_id)
      .execute();
  }
}
