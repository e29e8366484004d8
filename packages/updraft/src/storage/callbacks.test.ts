/**
 * DAG callback requests and deadlines on every database (issue 20): a run's end writes one request
 * per event even when schedulers race to end it; a passed deadline is marked missed once by
 * concurrent scheduler loops, with one request; a run finished in time leaves its deadline met;
 * triggerers claim a request one at a time, take it over after a lapsed lease, and their outcome
 * is fenced by the claim.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { pino } from "pino";
import type { SerializedDag } from "../core/serialized.ts";
import { examineRuns } from "../scheduler/examine-runs.ts";
import { forEachDatabase } from "../test-support/databases.ts";
import { serializedDag, serializedTask } from "../test-support/serialized.ts";
import { closeAll, openSiblings } from "../test-support/sibling-databases.ts";
import { callbackStore, deadlineTime, MAX_CALLBACK_ATTEMPTS } from "./callbacks.ts";
import { dagRunStore } from "./dag-runs.ts";
import type { Database } from "./database.ts";
import { dagStore } from "./dags.ts";

const log = pino({ level: "silent" });
const T0 = Date.UTC(2025, 0, 1);
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();

const withCallbacks = (dagId: string): SerializedDag =>
  serializedDag(dagId, [serializedTask("a"), serializedTask("b", ["a"])], {
    callbackEvents: ["dag_success", "dag_failure"],
    deadlines: [
      { index: 0, reference: "queued_at", fixed: null, interval: 60 },
      { index: 1, reference: "logical_date", fixed: null, interval: 3600 },
    ],
  });

async function addDag(database: Database, dag: SerializedDag) {
  await dagStore(database).syncFile(
    { fileloc: dag.fileloc, contentHash: dag.dagId, durationMs: 1, dags: [dag], errors: [] },
    { pausedAtCreation: false },
  );
}

async function newRun(database: Database, dag: SerializedDag, runId: string, logicalDate: string | null) {
  return dagRunStore(database).create(
    {
      dag,
      runId,
      runType: "manual",
      logicalDate,
      dataIntervalStart: logicalDate,
      dataIntervalEnd: logicalDate,
      runAfter: at(0),
      state: "running",
    },
    at(0),
  );
}

async function requests(database: Database, runId: string) {
  return database.db
    .selectFrom("callback_request")
    .selectAll()
    .where("run_id", "=", runId)
    .orderBy("id")
    .execute();
}

/** Earlier tests' runs and requests out of the way: each test sees only its own. */
async function settleOthers(database: Database) {
  await database.db
    .updateTable("dag_run")
    .set({ state: "success" })
    .where("state", "in", ["queued", "running"])
    .execute();
  await database.db.updateTable("callback_request").set({ state: "success" }).execute();
  await database.db
    .updateTable("deadline")
    .set({ handled_at: at(0) })
    .where("handled_at", "is", null)
    .execute();
}

forEachDatabase("DAG callback requests and deadlines", (get) => {
  let schedulers: Database[] = [];
  before(async () => {
    schedulers = await openSiblings(get(), 3);
  });
  after(() => closeAll(schedulers));

  test("a run's deadlines are written with it, from its queued time and logical date", async () => {
    const dag = withCallbacks("deadlines_written");
    const run = await newRun(get(), dag, "r1", at(-30));
    const { deadlines } = await callbackStore(get()).forRun(dag.dagId, "r1");
    assert.deepEqual(
      deadlines.map((d) => [d.dag_run_id, d.deadline_index, d.deadline_time, d.missed, d.handled_at]),
      [
        [run.id, 0, at(60), 0, null],
        [run.id, 1, at(3570), 0, null],
      ],
    );
    // Without a logical date, a deadline on it is not written (its reference is unknown).
    await newRun(get(), dag, "r2", null);
    const noLogical = await callbackStore(get()).forRun(dag.dagId, "r2");
    assert.deepEqual(
      noLogical.deadlines.map((d) => d.deadline_index),
      [0],
    );
    assert.equal(
      deadlineTime(
        { index: 0, reference: "fixed_datetime", fixed: at(5), interval: 10 },
        {
          logicalDate: null,
          queuedAt: null,
        },
      ),
      at(15),
    );
  });

  test("schedulers racing to end a failed run write one dag_failure request, naming the failed task", async () => {
    const dag = withCallbacks("run_end_race");
    await addDag(get(), dag);
    for (let trial = 0; trial < 5; trial++) {
      const runId = `race${trial}`;
      await newRun(get(), dag, runId, at(0));
      await get()
        .db.updateTable("task_instance")
        .set({ state: "failed", end_date: at(1) })
        .where("run_id", "=", runId)
        .where("task_id", "=", "a")
        .execute();
      await get()
        .db.updateTable("task_instance")
        .set({ state: "upstream_failed", end_date: at(1) })
        .where("run_id", "=", runId)
        .where("task_id", "=", "b")
        .execute();
      await Promise.all(
        schedulers.map((database) => examineRuns(database, { now: at(2), log, cancel: () => false })),
      );
      const rows = await requests(get(), runId);
      assert.deepEqual(
        rows.map((r) => [r.event, r.state, r.task_id]),
        [["dag_failure", "queued", "a"]],
        `trial ${trial}`,
      );
      assert.deepEqual(JSON.parse(rows[0]!.payload), { reason: "task_failure", taskId: "a", mapIndex: -1 });
      assert.equal((await dagRunStore(get()).get(dag.dagId, runId))?.state, "failed");
    }
  });

  test("a run that succeeds writes dag_success; a DAG without callbacks writes nothing", async () => {
    const dag = withCallbacks("run_end_success");
    const plain = serializedDag("run_end_plain", [serializedTask("a")]);
    await addDag(get(), dag);
    await addDag(get(), plain);
    await newRun(get(), dag, "ok", at(0));
    await newRun(get(), plain, "plain", at(0));
    await get()
      .db.updateTable("task_instance")
      .set({ state: "success", end_date: at(1) })
      .where("run_id", "in", ["ok", "plain"])
      .execute();
    await examineRuns(get(), { now: at(2), log, cancel: () => false });
    assert.deepEqual(
      (await requests(get(), "ok")).map((r) => [r.event, JSON.parse(r.payload).reason]),
      [["dag_success", "success"]],
    );
    assert.deepEqual(await requests(get(), "plain"), []);
    // Cleared and run again, it ends again: its callback is asked for again.
    await get()
      .db.updateTable("dag_run")
      .set({ state: "running", end_date: null, last_scheduling_decision: null })
      .where("run_id", "=", "ok")
      .execute();
    await examineRuns(get(), { now: at(9), log, cancel: () => false });
    assert.deepEqual(
      (await requests(get(), "ok")).map((r) => [r.event, r.event_key]),
      [
        ["dag_success", at(2)],
        ["dag_success", at(9)],
      ],
    );
  });

  test("a passed deadline is missed once under concurrent scheduler loops; one finished in time is met", async () => {
    const dag = withCallbacks("deadline_race");
    await settleOthers(get());
    for (let trial = 0; trial < 5; trial++) {
      const late = await newRun(get(), dag, `late${trial}`, at(0));
      const done = await newRun(get(), dag, `done${trial}`, at(0));
      await dagRunStore(get()).transition(done.id, "running", "success", { end_date: at(30) }, at(30));
      // Deadline 0 (queued + 60 s) passed at +61 s; deadline 1 (logical + 1 h) not yet.
      const marked = await Promise.all(
        schedulers.map((database) => callbackStore(database).missDueDeadlines(at(61))),
      );
      assert.equal(
        marked.reduce((a, b) => a + b, 0),
        1,
        `trial ${trial}: ${marked.join(",")}`,
      );
      const lateRows = await callbackStore(get()).forRun(dag.dagId, late.run_id);
      assert.deepEqual(
        lateRows.deadlines.map((d) => [d.deadline_index, d.missed, d.handled_at]),
        [
          [0, 1, at(61)],
          [1, 0, null],
        ],
      );
      assert.deepEqual(
        lateRows.callbacks.map((c) => [c.event, c.event_key, JSON.parse(c.payload).deadline]),
        [["deadline_missed", "0", { index: 0, time: at(60) }]],
      );
      const doneRows = await callbackStore(get()).forRun(dag.dagId, done.run_id);
      assert.deepEqual(
        doneRows.deadlines.map((d) => [d.deadline_index, d.missed, d.handled_at]),
        [
          [0, 0, at(61)],
          [1, 0, null],
        ],
        "met: handled, not missed",
      );
      assert.deepEqual(doneRows.callbacks, []);
      // Nothing is missed twice.
      assert.equal(await callbackStore(get()).missDueDeadlines(at(62)), 0);
      await get().db.updateTable("dag_run").set({ state: "success" }).where("id", "=", late.id).execute();
    }
  });

  test("triggerers claim a request one at a time, take it over after its lease, and fence its outcome", async () => {
    const dag = withCallbacks("claims");
    await settleOthers(get());
    await addDag(get(), dag);
    await newRun(get(), dag, "c1", at(0));
    await get()
      .db.updateTable("task_instance")
      .set({ state: "success", end_date: at(1) })
      .where("run_id", "=", "c1")
      .execute();
    await examineRuns(get(), { now: at(2), log, cancel: () => false });
    const [a, b, c] = schedulers.map((d) => callbackStore(d));
    const claims = await Promise.all([a, b, c].map((s, i) => s!.claim(100 + i, 10, at(10), at(20))));
    const mine = claims.flatMap((list, i) => list.filter((r) => r.run_id === "c1").map(() => 100 + i));
    assert.equal(mine.length, 1, `claimed by ${mine.join(", ")}`);
    const holder = mine[0]!;
    const other = holder === 100 ? 101 : 100;
    const id = (await requests(get(), "c1"))[0]!.id;
    // Its lease holds: nobody else takes it; renewed, it holds longer.
    assert.deepEqual(await a!.claim(other, 10, at(15), at(25)), []);
    assert.deepEqual(await a!.renew(holder, at(30)), [id]);
    assert.deepEqual(await a!.claim(other, 10, at(25), at(35)), []);
    // The holder dies: after the lease, another takes it over (a second attempt).
    const taken = await a!.claim(other, 10, at(31), at(41));
    assert.deepEqual(
      taken.map((r) => [r.id, r.attempts]),
      [[id, 2]],
    );
    assert.equal(await a!.finish(id, holder, { ok: true }, at(32)), false, "the old holder writes nothing");
    assert.equal(await a!.finish(id, other, { ok: false, error: "boom" }, at(33)), true);
    const row = (await requests(get(), "c1"))[0]!;
    assert.deepEqual([row.state, row.error, row.finished_at], ["failed", "boom", at(33)]);
    assert.deepEqual(await a!.claim(holder, 10, at(50), at(60)), [], "a finished request is not run again");
  });

  test("a request whose triggerers kept dying is failed after MAX_CALLBACK_ATTEMPTS; a released one goes at once", async () => {
    const dag = withCallbacks("attempts");
    await settleOthers(get());
    await addDag(get(), dag);
    await newRun(get(), dag, "a1", at(0));
    await get()
      .db.updateTable("task_instance")
      .set({ state: "success", end_date: at(1) })
      .where("run_id", "=", "a1")
      .execute();
    await examineRuns(get(), { now: at(2), log, cancel: () => false });
    const store = callbackStore(get());
    const id = (await requests(get(), "a1"))[0]!.id;
    const claimOf = async (job: number, now: number) =>
      (await store.claim(job, 10, at(now), at(now + 10))).filter((r) => r.id === id);
    assert.equal((await claimOf(1, 10)).length, 1);
    assert.equal(await store.release(1), 1);
    assert.equal((await claimOf(2, 11)).length, 1, "released: taken at once");
    for (let attempt = 3; attempt <= MAX_CALLBACK_ATTEMPTS; attempt++)
      assert.equal((await claimOf(attempt, 100 * attempt)).length, 1);
    assert.deepEqual(await claimOf(9, 10_000), []);
    const row = (await requests(get(), "a1"))[0]!;
    assert.equal(row.state, "failed");
    assert.match(row.error!, /gave up after 3 attempts/);
  });
});
