import assert from "node:assert/strict";
import { beforeEach, test } from "node:test";
import { dateTimeTrigger } from "../sdk/triggers.ts";
import { forEachDatabase } from "../test-support/databases.ts";
import { deferredRun } from "../test-support/deferred.ts";
import { closeAll, openSiblings } from "../test-support/sibling-databases.ts";
import type { Database } from "./database.ts";
import { triggerStore } from "./triggers.ts";

const T0 = "2026-01-01T00:00:00.000Z";
const at = (seconds: number) => new Date(Date.parse(T0) + seconds * 1000).toISOString();
const specs = (n: number) => Array.from({ length: n }, (_, i) => dateTimeTrigger(at(i)).serialize());

async function tiRows(database: Database, dagId: string, runId: string) {
  return database.db
    .selectFrom("task_instance")
    .select([
      "task_id",
      "state",
      "trigger_id",
      "trigger_timeout",
      "next_method",
      "next_kwargs",
      "scheduled_dttm",
    ])
    .where("dag_id", "=", dagId)
    .where("run_id", "=", runId)
    .orderBy("task_id")
    .execute();
}

forEachDatabase("trigger store", (get) => {
  // Each test starts with no trigger (earlier tests' would be claimable).
  beforeEach(() => get().db.deleteFrom("trigger").execute());

  test("claim takes free triggers up to capacity, never one another triggerer holds", async () => {
    const store = triggerStore(get());
    await deferredRun(get(), "claim_dag", "r1", specs(5));
    const a = await store.claim(1, 3, at(0), at(10));
    assert.equal(a.length, 3);
    assert.equal(a[0]!.classpath, "updraft.triggers.DateTimeTrigger");
    assert.equal(typeof a[0]!.kwargs.moment, "string");
    assert.equal((await store.claim(1, 3, at(0), at(10))).length, 0, "already at capacity");
    const b = await store.claim(2, 10, at(0), at(10));
    assert.deepEqual(
      b.map((t) => t.id),
      (await store.renew(2, at(10))).sort((x, y) => x - y),
    );
    assert.equal(b.length, 2, "only the two left");
    assert.ok(!b.some((t) => a.some((x) => x.id === t.id)));
    await store.release(1);
    await store.release(2);
  });

  test("a lapsed lease lets another triggerer claim; the old holder's fire is then refused (lost)", async () => {
    const store = triggerStore(get());
    await deferredRun(get(), "lapse_dag", "r1", specs(2));
    const mine = await store.claim(11, 100, at(0), at(10));
    assert.equal(mine.length, 2);
    assert.equal((await store.claim(12, 100, at(5), at(15))).length, 0, "lease still valid");
    // Triggerer 11 stopped renewing: at 11 s its lease lapsed.
    const taken = await store.claim(12, 100, at(11), at(21));
    assert.deepEqual(
      taken.map((t) => t.id),
      mine.map((t) => t.id),
    );
    assert.deepEqual(await store.renew(11, at(30)), [], "11 holds nothing any more");
    assert.equal(await store.fire(mine[0]!.id, 11, "late", at(12)), false);
    const rows = await tiRows(get(), "lapse_dag", "r1").then((r) => r.filter((x) => x.trigger_id !== null));
    assert.ok(rows.length >= 2, "nothing written by the fenced-out fire");
    assert.equal(await store.fire(mine[0]!.id, 12, at(0), at(12)), true);
    await store.release(12);
  });

  test("fire schedules the trigger's deferred task instances with {event}, keeping next_method; deletes it", async () => {
    const database = get();
    const store = triggerStore(database);
    const [t] = await deferredRun(database, "fire_dag", "r1", specs(1));
    const [claimed] = await store.claim(21, 10, at(0), at(10));
    assert.equal(claimed!.id, t!.triggerId);
    assert.equal(await store.fire(t!.triggerId, 21, { moment: at(0) }, at(1)), true);
    const [ti] = await tiRows(database, "fire_dag", "r1").then((r) => r.filter((x) => x.task_id === "t0"));
    assert.equal(ti!.state, "scheduled");
    assert.equal(ti!.next_method, "resume");
    assert.deepEqual(JSON.parse(ti!.next_kwargs!), { event: { moment: at(0) } });
    assert.equal(ti!.trigger_id, null);
    assert.equal(ti!.scheduled_dttm, at(1));
    const left = await database.db
      .selectFrom("trigger")
      .select("id")
      .where("id", "=", t!.triggerId)
      .execute();
    assert.equal(left.length, 0);
    assert.equal(await store.fire(t!.triggerId, 21, "again", at(2)), false, "fires once");
  });

  test("failTrigger schedules them to fail; fireMany writes each its own payload, one transaction", async () => {
    const database = get();
    const store = triggerStore(database);
    const tasks = await deferredRun(database, "many_dag", "r1", specs(3));
    await store.claim(31, 10, at(0), at(10));
    const r = await store.fireMany(
      31,
      [
        { id: tasks[0]!.triggerId, event: 0 },
        { id: tasks[1]!.triggerId, error: "boom" },
        { id: tasks[2]!.triggerId, event: { n: 2 } },
        { id: 999_999, event: "not mine" },
      ],
      at(1),
    );
    assert.deepEqual(
      r.fired.sort((a, b) => a - b),
      tasks.map((t) => t.triggerId),
    );
    assert.deepEqual(r.lost, [999_999]);
    const rows = await tiRows(database, "many_dag", "r1");
    assert.deepEqual(
      rows
        .filter((x) => x.task_id.startsWith("t"))
        .map((x) => [x.task_id, x.state, x.next_method, JSON.parse(x.next_kwargs!)]),
      [
        ["t0", "scheduled", "resume", { event: 0 }],
        ["t1", "scheduled", "__fail__", { error: "boom" }],
        ["t2", "scheduled", "resume", { event: { n: 2 } }],
      ],
    );
  });

  test("timeOutDeferred fails overdue waits only; deleteOrphans then removes their triggers", async () => {
    const database = get();
    const store = triggerStore(database);
    const late = await deferredRun(database, "timeout_dag", "late", specs(2), { timeout: at(5) });
    const fine = await deferredRun(database, "timeout_dag", "fine", specs(1), { timeout: at(100) });
    assert.equal(await store.timeOutDeferred(at(4)), 0);
    assert.equal(await store.timeOutDeferred(at(5)), 2);
    const rows = await tiRows(database, "timeout_dag", "late");
    for (const row of rows) {
      assert.equal(row.state, "scheduled");
      assert.equal(row.next_method, "__fail__");
      assert.match(JSON.parse(row.next_kwargs!).error, /timeout passed/);
      assert.equal(row.trigger_id, null);
    }
    assert.equal((await tiRows(database, "timeout_dag", "fine"))[0]!.state, "deferred");
    await store.deleteOrphans();
    const left = await database.db.selectFrom("trigger").select("id").execute();
    const ids = new Set(left.map((r) => r.id));
    assert.ok(!late.some((t) => ids.has(t.triggerId)), "the timed-out waits' triggers are gone");
    assert.ok(ids.has(fine[0]!.triggerId), "a trigger still waited on stays");
  });
});

// Several processes' pools on one SQLite file cannot be raced inside one process (node:sqlite blocks
// the thread while it waits for the lock); SQLite has one writer at a time anyway. The process test
// (triggerer/triggerer.test.ts) runs two triggerers on SQLite.
forEachDatabase(
  "trigger store, concurrent claims",
  (get) => {
    test("two triggerers claiming at once (own connections) never share a trigger", async () => {
      const database = get();
      await deferredRun(database, "race_dag", "r1", specs(60));
      const siblings = await openSiblings(database, 3);
      try {
        const claims = await Promise.all(
          siblings.map((s, i) =>
            (async () => {
              const got: number[] = [];
              for (let k = 0; k < 5; k++)
                got.push(...(await triggerStore(s).claim(100 + i, 1000, at(0), at(10))).map((t) => t.id));
              return got;
            })(),
          ),
        );
        const all = claims.flat();
        assert.equal(new Set(all).size, all.length, "no trigger claimed twice");
        const free = await database.db
          .selectFrom("trigger")
          .select("id")
          .where("triggerer_id", "is", null)
          .execute();
        assert.equal(free.length, 0, "every trigger claimed by someone");
      } finally {
        await closeAll(siblings);
      }
    });
  },
  { only: ["postgres", "mysql"] },
);
