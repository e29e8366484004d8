/**
 * Claims made in the transaction that records tries' ends (the mini scheduler): a fan-out runs on
 * ends alone after the first claim, never past the executor's room, and a claim that does not
 * commit gives its slots back.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Executor, ExecutableTry } from "../executor/executor.ts";
import { keyString } from "../executor/executor.ts";
import { forEachDatabase } from "../test-support/databases.ts";
import { jobStore } from "../storage/jobs.ts";
import { poolStore } from "../storage/pools.ts";
import { startMany, tryWrites } from "../storage/try-batches.ts";
import { Claims } from "./queue-tasks.ts";
import { scheduledRun } from "../test-support/runs.ts";

/** An executor of `slots` that runs nothing: the test ends its tries; it remembers the most it held. */
function recordingExecutor(slots: number) {
  const running = new Map<string, ExecutableTry>();
  const ran: ExecutableTry[] = [];
  let most = 0;
  const executor: Executor = {
    name: "recording",
    freeSlots: () => Math.max(0, slots - running.size),
    execute: (ti) => {
      running.set(keyString(ti), ti);
      ran.push(ti);
      most = Math.max(most, running.size);
    },
    onFinished: () => undefined,
    running: () => [...running.values()],
    cancel: () => false,
    stop: async () => undefined,
  };
  return { executor, running, ran, most: () => most };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

forEachDatabase("claims in the transaction that records tries' ends", (get) => {
  test("after the first claim, a fan-out runs on its ends alone, never past the executor's room", async () => {
    const database = get();
    await poolStore(database).set({ name: "default_pool", slots: -1 });
    await scheduledRun(database, "fan", 9);
    const owner = await jobStore(database).start("scheduler");
    const ex = recordingExecutor(3);
    let now = Date.parse("2025-01-01T00:00:01.000Z");
    const stamp = () => new Date((now += 1000)).toISOString();
    const claims = new Claims({
      database,
      executor: ex.executor,
      jobId: () => owner,
      parallelism: 32,
      now: stamp,
      mayClaim: () => true,
    });
    const writes = tryWrites(database);
    writes.followEnds(owner, claims.followUp());
    try {
      assert.equal(await claims.inIteration(async () => undefined), 3);
      // Ends of the running tries, as the runner records them: the slot is given back once recorded.
      while (ex.running.size > 0) {
        const batch = [...ex.running.values()].slice(0, 2);
        const at = stamp();
        const rows = await startMany(
          database,
          batch.map((ti) => ({ key: ti, owner, start_date: at, hostname: "here", pid: 1 })),
          at,
        );
        await Promise.all(
          rows.map(async (row, i) => {
            const ti = batch[i]!;
            assert.equal(row?.state, "running");
            const recorded = await writes.finish({
              fence: { key: ti, tryNumber: row!.try_number, owner },
              from: "running",
              to: "success",
              patch: { end_date: stamp(), duration: 0 },
            });
            assert.ok(recorded);
            ex.running.delete(keyString(ti));
          }),
        );
        await settle();
      }
    } finally {
      writes.followEnds(owner, null);
    }
    assert.deepEqual(
      ex.ran.map((ti) => ti.taskId).sort(),
      Array.from({ length: 9 }, (_, i) => `t${i}`).sort(),
    );
    assert.ok(ex.most() <= 3, `the executor held ${ex.most()} tries with 3 slots`);
    const states = await database.db
      .selectFrom("task_instance")
      .select("state")
      .where("dag_id", "=", "fan")
      .execute();
    assert.ok(states.every((s) => s.state === "success"));
  });

  test("a claim whose ends' transaction does not commit gives its slots back and claims nothing", async () => {
    const database = get();
    await poolStore(database).set({ name: "default_pool", slots: -1 });
    await scheduledRun(database, "rollback", 4);
    const owner = await jobStore(database).start("scheduler");
    const ex = recordingExecutor(1);
    const claims = new Claims({
      database,
      executor: ex.executor,
      jobId: () => owner,
      parallelism: 32,
      now: () => new Date().toISOString(),
      mayClaim: () => true,
    });
    assert.equal(await claims.inIteration(async () => undefined), 1);
    ex.running.clear(); // its try ended
    const followUp = claims.followUp();
    await assert.rejects(
      database.db.transaction().execute(async (trx) => {
        const outcome = await followUp.run(trx, []);
        assert.ok(outcome, "a slot was free: the follow-up claims");
        try {
          throw new Error("the commit failed");
        } catch (error) {
          outcome.failed();
          throw error;
        }
      }),
      /the commit failed/,
    );
    await settle();
    assert.equal(ex.ran.length, 1, "nothing claimed by the rolled-back transaction was run");
    const queued = await database.db
      .selectFrom("task_instance")
      .select("task_id")
      .where("dag_id", "=", "rollback")
      .where("state", "=", "queued")
      .execute();
    assert.equal(queued.length, 1, "the rolled-back claim left its rows scheduled");
    // The slot it reserved is free again: the next claim takes it.
    assert.equal(await claims.inIteration(async () => undefined), 1);
  });
});
