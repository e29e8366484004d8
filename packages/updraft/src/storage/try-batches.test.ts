/**
 * The batched hot path on every database: claims, starts and ends of thousands of tries in a few
 * statements, each request fenced on its own (one stale or bad request does not fail the rest), a
 * repeated commit recognised, batches past every driver's limit on bound parameters, and wake-ups
 * reaching a scheduler through the database.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { openedAs, forEachDatabase } from "../test-support/databases.ts";
import { openDatabase } from "./database.ts";
import { GroupCommit } from "./group-commit.ts";
import { jobStore } from "./jobs.ts";
import { poolStore } from "./pools.ts";
import { claimTaskInstances } from "./sql/claim-task-instances.ts";
import { taskInstanceStore, type TaskInstanceKey } from "./task-instances.ts";
import { finishMany, startMany, tryWrites, type FinishRequest } from "./try-batches.ts";
import { watchForWork, wakeSchedulers } from "./wakeups.ts";
import { scheduledRun } from "../test-support/runs.ts";

/** Past SQLite's 32,766 bound values and PostgreSQL's 65,535 for 16-column rows, were it one statement. */
const WIDE = 6000;

const started = (key: TaskInstanceKey, owner: number, at: string) => ({
  key,
  owner,
  start_date: at,
  hostname: "here",
  pid: 1,
});

forEachDatabase("batched claims, starts and ends of tries", (get) => {
  test(`${WIDE} tries claimed, started and ended in batches past every driver's parameter limit`, async () => {
    const database = get();
    await poolStore(database).set({ name: "default_pool", slots: -1 });
    const keys = await scheduledRun(database, "wide", WIDE);
    const owner = await jobStore(database).start("scheduler");
    const before = database.statements();
    const claimed = await claimTaskInstances(database, {
      jobId: owner,
      limit: WIDE,
      parallelism: WIDE,
      now: "2025-01-01T00:00:01.000Z",
    });
    assert.equal(claimed.length, WIDE);
    const at = "2025-01-01T00:00:02.000Z";
    const rows = await startMany(
      database,
      keys.map((k) => started(k, owner, at)),
      at,
    );
    assert.ok(
      rows.every((r, i) => r?.state === "running" && r.try_number === 1 && r.task_id === keys[i]!.taskId),
    );
    const end = "2025-01-01T00:00:03.000Z";
    const requests: FinishRequest[] = keys.map((key, i) => ({
      fence: { key, tryNumber: 1, owner },
      from: "running",
      to: "success",
      patch: { end_date: end, duration: 1 },
      outcome: i % 2 === 0 ? { xcom: JSON.stringify(i) } : {},
    }));
    assert.ok((await finishMany(database, requests, end)).every((ok) => ok));
    // A handful of statements per thousand tries, not one or more per try.
    assert.ok(database.statements() - before < WIDE / 20, `${database.statements() - before} statements`);
    const states = await database.db
      .selectFrom("task_instance")
      .select(["state", "try_number", "end_date"])
      .where("dag_id", "=", "wide")
      .execute();
    assert.ok(states.every((s) => s.state === "success" && s.try_number === 1 && s.end_date === end));
    const history = await database.db
      .selectFrom("task_instance_history")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("dag_id", "=", "wide")
      .executeTakeFirstOrThrow();
    assert.equal(Number(history.n), WIDE);
    const xcoms = await database.db
      .selectFrom("xcom")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("dag_id", "=", "wide")
      .executeTakeFirstOrThrow();
    assert.equal(Number(xcoms.n), WIDE / 2);
  });

  test("a stale, foreign or missing row in a batch is refused alone; a repeated commit is recognised", async () => {
    const database = get();
    const keys = await scheduledRun(database, "mixed", 5);
    const a = await jobStore(database).start("scheduler");
    const b = await jobStore(database).start("scheduler");
    await database.db
      .updateTable("task_instance")
      .set({ state: "queued", claimed_by_job_id: a })
      .where("dag_id", "=", "mixed")
      .execute();
    await database.db
      .updateTable("task_instance")
      .set({ claimed_by_job_id: b })
      .where("dag_id", "=", "mixed")
      .where("task_id", "=", "t4")
      .execute();
    const at = "2025-01-01T00:00:02.000Z";
    const missing = { dagId: "mixed", runId: "r", taskId: "nope", mapIndex: -1 };
    const starts = [...keys, missing].map((k) => started(k, a, at));
    const rows = await startMany(database, starts, at);
    assert.deepEqual(
      rows.map((r) => r?.state),
      ["running", "running", "running", "running", undefined, undefined],
      "t4 is b's claim; the missing row starts nothing",
    );
    // The same batch again (its commit was lost on the way back): recognised by its start date.
    assert.deepEqual(
      (await startMany(database, starts, at)).map((r) => r?.try_number),
      [1, 1, 1, 1, undefined, undefined],
    );

    const end = "2025-01-01T00:00:03.000Z";
    const finish = (key: TaskInstanceKey, tryNumber: number, to: FinishRequest["to"]): FinishRequest => ({
      fence: { key, tryNumber, owner: a },
      from: "running",
      to,
      patch: { end_date: end, duration: 1, next_retry_at: null },
    });
    const requests = [
      finish(keys[0]!, 1, "success"),
      finish(keys[1]!, 2, "success"), // a stale try number
      finish(keys[2]!, 1, "failed"),
      finish(keys[3]!, 1, "up_for_retry"),
    ];
    assert.deepEqual(await finishMany(database, requests, end), [true, false, true, true]);
    assert.deepEqual(await finishMany(database, requests, end), [true, false, true, true], "recognised");
    const tis = taskInstanceStore(database);
    const states = await Promise.all(keys.map((k) => tis.get(k)));
    assert.deepEqual(
      states.map((s) => s?.state),
      ["success", "running", "failed", "up_for_retry", "queued"],
    );
    const archived = await database.db
      .selectFrom("task_instance_history")
      .select(["task_id", "state"])
      .where("dag_id", "=", "mixed")
      .orderBy("task_id")
      .execute();
    assert.deepEqual(
      archived.map((r) => [r.task_id, r.state]),
      [
        ["t0", "success"],
        ["t2", "failed"],
        ["t3", "up_for_retry"],
      ],
      "each try archived once, the refused one not at all",
    );
  });

  test("gathered writes: a request the database or the state machine refuses fails alone", async () => {
    const database = get();
    const keys = await scheduledRun(database, "gathered", 4);
    const owner = await jobStore(database).start("scheduler");
    await database.db
      .updateTable("task_instance")
      .set({ state: "queued", claimed_by_job_id: owner })
      .where("dag_id", "=", "gathered")
      .execute();
    const writes = tryWrites(database);
    const at = new Date().toISOString();
    const rows = await Promise.all(keys.map((k) => writes.start(started(k, owner, at))));
    assert.ok(rows.every((r) => r?.state === "running"));
    const end = new Date().toISOString();
    const results = await Promise.allSettled(
      keys.map((key, i) =>
        writes.finish({
          fence: { key, tryNumber: 1, owner },
          from: "running",
          // running -> queued is no transition at all: that request alone is refused.
          to: i === 1 ? "queued" : "success",
          patch: { end_date: end, duration: 0 },
        }),
      ),
    );
    assert.deepEqual(
      results.map((r) => r.status),
      ["fulfilled", "rejected", "fulfilled", "fulfilled"],
    );
    const tis = taskInstanceStore(database);
    assert.deepEqual(
      (await Promise.all(keys.map((k) => tis.get(k)))).map((s) => s?.state),
      ["success", "running", "success", "success"],
    );
  });

  test("a run made through another connection wakes a scheduler watching for work", async () => {
    const database = get();
    const { url, options } = openedAs(database);
    const other = openDatabase(url, options);
    let woken = 0;
    const stop = await watchForWork(database, () => woken++);
    try {
      await new Promise((r) => setTimeout(r, 300)); // the watch has had a first look
      woken = 0;
      await scheduledRun(other, "woken", 1);
      await wakeSchedulers(other);
      const deadline = Date.now() + 5000;
      while (woken === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.ok(woken > 0, "the watcher heard of the new run");
    } finally {
      await stop();
      await other.close();
    }
  });
});

test("group commit: a lone write goes at once; writes made meanwhile go together", async () => {
  const batches: number[][] = [];
  const commit = new GroupCommit<number, number>({
    many: async (items) => {
      batches.push(items);
      await new Promise((r) => setTimeout(r, 20));
      return items.map((i) => i * 2);
    },
    one: async (item) => {
      batches.push([item]);
      return item * 2;
    },
  });
  assert.equal(await commit.submit(1), 2);
  const first = commit.submit(2);
  await new Promise((r) => setImmediate(r));
  const rest = [3, 4, 5].map((i) => commit.submit(i));
  assert.deepEqual(await Promise.all([first, ...rest]), [4, 6, 8, 10]);
  assert.deepEqual(batches, [[1], [2], [3, 4, 5]]);
});
