/**
 * A try that stops to wait (reschedule or deferral) is written as its end is: fenced by its try and
 * owner. Going on after the wait keeps the try number; a try that lost its row cannot pause it.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { forEachDatabase } from "../test-support/databases.ts";
import { serializedDag, serializedTask } from "../test-support/serialized.ts";
import { dagRunStore } from "./dag-runs.ts";
import { nowIso } from "./database.ts";
import { jobStore } from "./jobs.ts";
import { taskInstanceStore } from "./task-instances.ts";
import { pauseTry, pokesOf, resumeSameTry } from "./waits.ts";

const dag = serializedDag("waits", [serializedTask("wait", [], { kind: "sensor" })]);

forEachDatabase("a try's waits", (get) => {
  const key = { dagId: "waits", runId: "r1", taskId: "wait", mapIndex: -1 };
  const times = (start: string) => ({ start_date: start, end_date: nowIso(), duration: 0.1 });

  async function started(owner: number) {
    const database = get();
    const tis = taskInstanceStore(database);
    assert.ok(
      await tis.transition(key, await tis.get(key).then((t) => (t?.state ?? "none") as never), "scheduled"),
    );
    assert.ok(await tis.transition(key, "scheduled", "queued", { claimed_by_job_id: owner }));
    const row = await tis.startTry(key, owner, { start_date: nowIso() });
    assert.ok(row);
    return row;
  }

  test("a reschedule keeps the try and records each poke; a lost try cannot pause", async () => {
    const database = get();
    const tis = taskInstanceStore(database);
    await dagRunStore(database).create({
      dag,
      runId: "r1",
      runType: "manual",
      logicalDate: "2025-01-01T00:00:00.000Z",
      dataIntervalStart: "2025-01-01T00:00:00.000Z",
      dataIntervalEnd: "2025-01-01T00:00:00.000Z",
      runAfter: "2025-01-01T00:00:00.000Z",
      conf: {},
    });
    const owner = await jobStore(database).start("scheduler");
    const other = await jobStore(database).start("scheduler");
    const first = await started(owner);
    assert.equal(first.try_number, 1);
    const at = new Date(Date.now() + 60_000).toISOString();
    // Another owner's fence is refused, and nothing is written for it.
    const stranger = { key, tryNumber: 1, owner: other };
    assert.equal(
      await pauseTry(database, stranger, { kind: "reschedule", at }, times(first.start_date!), nowIso()),
      false,
    );
    assert.equal((await pokesOf(database, stranger)).count, 0);

    const fence = { key, tryNumber: 1, owner };
    assert.ok(
      await pauseTry(database, fence, { kind: "reschedule", at }, times(first.start_date!), nowIso()),
    );
    let row = await tis.get(key);
    assert.equal(row?.state, "up_for_reschedule");
    assert.equal(row?.next_retry_at, at);
    assert.equal(row?.next_method, "__poke__");
    assert.deepEqual(await pokesOf(database, fence), { first: first.start_date, count: 1 });

    // Due: back to scheduled one lower, so the start that resumes it runs try 1 again.
    assert.ok(await tis.transition(key, "up_for_reschedule", "scheduled", resumeSameTry(nowIso())));
    assert.ok(await tis.transition(key, "scheduled", "queued", { claimed_by_job_id: owner }));
    const again = await tis.startTry(key, owner, { start_date: nowIso() });
    assert.equal(again?.try_number, 1, "a reschedule is not a retry");
    assert.equal(again?.next_method, "__poke__", "the runner sees it goes on");

    // Its end clears the wait; a later retry is a new try.
    assert.ok(
      await tis.finishTry(fence, "running", "up_for_retry", { end_date: nowIso(), next_retry_at: nowIso() }),
    );
    row = await tis.get(key);
    assert.equal(row?.next_method, null);
    assert.ok(await tis.transition(key, "up_for_retry", "scheduled"));
    assert.ok(await tis.transition(key, "scheduled", "queued", { claimed_by_job_id: owner }));
    assert.equal((await tis.startTry(key, owner, { start_date: nowIso() }))?.try_number, 2);
  });

  test("a deferral writes its trigger and timeout with the task instance, in one fenced transaction", async () => {
    const database = get();
    const tis = taskInstanceStore(database);
    const owner = await jobStore(database).start("scheduler");
    const row = await tis.get(key);
    const fence = { key, tryNumber: row!.try_number, owner };
    const trigger = {
      classpath: "updraft.triggers.DateTimeTrigger",
      kwargs: { moment: "2030-01-01T00:00:00.000Z" },
    };
    const timeoutAt = "2030-01-02T00:00:00.000Z";
    const pause = { kind: "defer" as const, trigger, timeoutAt };
    // Not this owner's try: refused, and no trigger is left behind.
    assert.equal(await pauseTry(database, fence, pause, times(row!.start_date!), nowIso()), false);
    assert.equal((await database.db.selectFrom("trigger").select("id").execute()).length, 0);

    assert.ok(
      await tis.finishTry({ ...fence, owner: row!.claimed_by_job_id }, "running", "failed", {
        end_date: nowIso(),
      }),
    );
    assert.ok(await tis.transition(key, "failed", "none"));
    const begun = await started(owner);
    const mine = { key, tryNumber: begun.try_number, owner };
    assert.ok(await pauseTry(database, mine, pause, times(begun.start_date!), nowIso()));
    const deferred = await tis.get(key);
    assert.equal(deferred?.state, "deferred");
    assert.equal(deferred?.next_method, "resume");
    assert.equal(deferred?.trigger_timeout, timeoutAt);
    const stored = await database.db.selectFrom("trigger").selectAll().execute();
    assert.equal(stored.length, 1);
    assert.equal(stored[0]!.id, deferred?.trigger_id);
    assert.equal(stored[0]!.classpath, trigger.classpath);
    assert.deepEqual(JSON.parse(stored[0]!.kwargs), trigger.kwargs);
  });
});
