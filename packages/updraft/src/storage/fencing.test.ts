/**
 * Fencing: a try's writes apply only while it still owns its task instance. The scenario is the one
 * an operator saw: scheduler A's try is presumed dead (A paused), its task instance is handed to
 * scheduler B, B's try starts, then A wakes up and records a success. A's writes must be refused.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { pino } from "pino";
import { rescueOwner } from "../scheduler/rescue.ts";
import { forEachDatabase } from "../test-support/databases.ts";
import { serializedDag, serializedTask } from "../test-support/serialized.ts";
import { dagRunStore } from "./dag-runs.ts";
import { nowIso } from "./database.ts";
import { jobStore } from "./jobs.ts";
import { taskInstanceStore } from "./task-instances.ts";
import { xcomStore } from "./xcom.ts";
import { variableStore } from "./variables.ts";
import { createCipher, generateKey } from "../secrets/cipher.ts";

const dag = serializedDag("fenced", [
  serializedTask("branch", [], { kind: "branch", retries: 0 }),
  serializedTask("left", ["branch"], { kind: "bash", templateFields: { command: "true" } }),
]);
const log = pino({ level: "silent" });

forEachDatabase("fenced writes of a try", (get) => {
  test("a try that lost its task instance to another owner cannot write its state, XCom, skips or fields", async () => {
    const database = get();
    const tis = taskInstanceStore(database);
    const jobs = jobStore(database);
    const run = await dagRunStore(database).create({
      dag,
      runId: "r1",
      runType: "manual",
      logicalDate: "2025-01-01T00:00:00.000Z",
      dataIntervalStart: "2025-01-01T00:00:00.000Z",
      dataIntervalEnd: "2025-01-01T00:00:00.000Z",
      runAfter: "2025-01-01T00:00:00.000Z",
      conf: {},
    });
    const key = { dagId: "fenced", runId: "r1", taskId: "branch", mapIndex: -1 };
    const a = await jobs.start("scheduler");
    const b = await jobs.start("scheduler");
    const claim = async (owner: number) => {
      assert.ok(await tis.transition(key, "none", "scheduled"));
      assert.ok(await tis.transition(key, "scheduled", "queued", { claimed_by_job_id: owner }));
    };

    // A claims and starts try 1; it may not start a try of B's claim.
    await claim(a);
    assert.equal(await tis.startTry(key, b, { start_date: nowIso() }), undefined);
    const tryA = await tis.startTry(key, a, { start_date: nowIso() });
    assert.equal(tryA?.try_number, 1);
    const fenceA = { key, tryNumber: 1, owner: a };
    assert.ok(await tis.updateTry(fenceA, { rendered_fields: '{"x":"a"}' }));

    // A is declared dead; its running try is handed back without using up a retry; B runs try 2.
    assert.ok(await jobs.declareDead(a));
    assert.equal(await rescueOwner(database, a, { now: nowIso(), log }), 1);
    const handed = await tis.get(key);
    assert.deepEqual([handed?.state, handed?.max_tries, handed?.claimed_by_job_id], ["scheduled", 1, null]);
    assert.ok(await tis.transition(key, "scheduled", "queued", { claimed_by_job_id: b }));
    const tryB = await tis.startTry(key, b, { start_date: nowIso() });
    assert.equal(tryB?.try_number, 2);

    // A wakes up: every write of its try is refused and nothing of it is applied.
    assert.equal(await tis.updateTry(fenceA, { rendered_fields: '{"x":"stale"}' }), false);
    const end = { end_date: nowIso(), duration: 1 };
    assert.equal(
      await tis.finishTry(fenceA, "running", "success", end, { xcom: '"stale"', skip: ["left"] }),
      false,
    );
    await tis.heartbeat(a, [key], "2030-01-01T00:00:00.000Z");
    const now = await tis.get(key);
    assert.deepEqual(
      [now?.state, now?.try_number, now?.claimed_by_job_id, now?.rendered_fields],
      ["running", 2, b, '{"x":"a"}'],
    );
    assert.notEqual(now?.last_heartbeat_at, "2030-01-01T00:00:00.000Z");
    assert.equal(await xcomStore(database).pull(run.id, "branch"), undefined);
    assert.equal((await tis.get({ ...key, taskId: "left" }))?.state, null);
    // Nor a variable (setVariable): the write and its fence are one transaction; B's try writes.
    const variables = variableStore(database, createCipher(generateKey()));
    assert.equal(await variables.setForTry(fenceA, { key: "v", value: "stale" }), undefined);
    assert.equal(await variables.get("v"), undefined);
    const fenceB = { key, tryNumber: 2, owner: b };
    assert.equal((await variables.setForTry(fenceB, { key: "v", value: "b" }))?.value, "b");

    // B's try records its result, its XCom and its skip in one go, and only once.
    const endB = { end_date: nowIso(), duration: 1 };
    assert.ok(await tis.finishTry(fenceB, "running", "success", endB, { xcom: '"b"', skip: ["left"] }));
    assert.ok(await tis.finishTry(fenceB, "running", "success", endB), "a repeated commit is recognised");
    // A try that has ended writes no variable any more.
    assert.equal(await variables.setForTry(fenceB, { key: "v", value: "late" }), undefined);
    assert.equal((await variables.get("v"))?.value, "b");
    assert.equal(await xcomStore(database).pull(run.id, "branch"), "b");
    assert.equal((await tis.get({ ...key, taskId: "left" }))?.state, "skipped");
    const history = await tis.archivedTries(key);
    assert.deepEqual(
      history.map((h) => [h.try_number, h.state]),
      [
        [1, "failed"],
        [2, "success"],
      ],
    );
  });
});
