/** Scheduled runs with a fake clock on every database: data intervals, catchup, maxActiveRuns, pauses. */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { pino } from "pino";
import { cronDataIntervalTimetable, dag as defineDag, empty } from "../sdk/index.ts";
import type { Executor } from "../executor/executor.ts";
import { forEachDatabase } from "../test-support/databases.ts";
import type { Database } from "../storage/database.ts";
import { dagStore } from "../storage/dags.ts";
import { closeAll, openSiblings } from "../test-support/sibling-databases.ts";
import { createDueRuns } from "./create-runs.ts";
import { Scheduler } from "./scheduler.ts";

const idle: Executor = {
  name: "idle",
  freeSlots: () => 0,
  execute: () => undefined,
  onFinished: () => undefined,
  running: () => [],
  cancel: () => false,
  stop: async () => undefined,
};

async function addDag(
  database: Database,
  dagId: string,
  options: { catchup: boolean; maxActiveRuns?: number; paused?: boolean },
) {
  const d = defineDag(
    {
      dagId,
      // Data intervals, named rather than left to configuration (Airflow 3's default is trigger).
      schedule: cronDataIntervalTimetable("@daily"),
      startDate: "2025-01-01",
      catchup: options.catchup,
      maxActiveRuns: options.maxActiveRuns ?? 16,
    },
    () => {
      empty("only");
    },
  );
  await dagStore(database).syncFile(
    {
      fileloc: `${dagId}.ts`,
      contentHash: dagId,
      durationMs: 1,
      dags: [d.serialize({ fileloc: `${dagId}.ts` })],
      errors: [],
    },
    { pausedAtCreation: options.paused ?? false },
  );
}

/** A scheduler as if freshly started after the previous test's was gone (its SQLite lease too). */
async function schedulerAt(database: Database, clock: { now: number }) {
  await database.db.deleteFrom("lease").execute();
  return new Scheduler({
    database,
    executor: idle,
    log: pino({ level: "silent" }),
    loopIntervalMs: 1000,
    parallelism: 32,
    heartbeatTimeout: 30,
    gracefulShutdownMs: 0,
    clock: () => clock.now,
  });
}

const runsOf = (database: Database, dagId: string) =>
  database.db
    .selectFrom("dag_run")
    .select(["run_id", "data_interval_start", "data_interval_end", "run_type", "state"])
    .where("dag_id", "=", dagId)
    .orderBy("logical_date")
    .execute();

forEachDatabase("scheduled runs", (get) => {
  test("catchup creates every missed interval, one per tick, then waits for the next", async () => {
    await addDag(get(), "daily_catchup", { catchup: true });
    const clock = { now: Date.parse("2025-01-04T00:00:01Z") };
    const scheduler = await schedulerAt(get(), clock);
    for (let i = 0; i < 5; i++) await scheduler.tick();
    const runs = await runsOf(get(), "daily_catchup");
    assert.deepEqual(
      runs.map((r) => [r.run_id, r.data_interval_start, r.data_interval_end]),
      [
        ["scheduled__2025-01-01T00:00:00+00:00", "2025-01-01T00:00:00.000Z", "2025-01-02T00:00:00.000Z"],
        ["scheduled__2025-01-02T00:00:00+00:00", "2025-01-02T00:00:00.000Z", "2025-01-03T00:00:00.000Z"],
        ["scheduled__2025-01-03T00:00:00+00:00", "2025-01-03T00:00:00.000Z", "2025-01-04T00:00:00.000Z"],
      ],
    );
    const row = await dagStore(get()).get("daily_catchup");
    assert.equal(row?.next_dagrun_create_after, "2025-01-05T00:00:00.000Z");
    clock.now = Date.parse("2025-01-05T00:00:00Z");
    await scheduler.tick();
    assert.equal((await runsOf(get(), "daily_catchup")).length, 4);
  });

  test("without catchup only the latest complete interval runs", async () => {
    await addDag(get(), "daily_latest", { catchup: false });
    const scheduler = await schedulerAt(get(), { now: Date.parse("2025-01-04T12:00:00Z") });
    for (let i = 0; i < 3; i++) await scheduler.tick();
    assert.deepEqual(
      (await runsOf(get(), "daily_latest")).map((r) => r.run_id),
      ["scheduled__2025-01-03T00:00:00+00:00"],
    );
  });

  test("maxActiveRuns holds further runs back; a paused DAG gets none", async () => {
    await addDag(get(), "one_at_a_time", { catchup: true, maxActiveRuns: 1 });
    await addDag(get(), "paused", { catchup: true, paused: true });
    const scheduler = await schedulerAt(get(), { now: Date.parse("2025-01-10T00:00:00Z") });
    for (let i = 0; i < 4; i++) await scheduler.tick();
    assert.equal((await runsOf(get(), "one_at_a_time")).length, 1);
    assert.equal((await runsOf(get(), "paused")).length, 0);
  });

  describeRace(get);
});

/** Three schedulers creating the due runs of a catchup DAG at the same moment, 30 times. */
function describeRace(get: () => Database) {
  let schedulers: Database[] = [];
  before(async () => {
    schedulers = await openSiblings(get(), 3);
  });
  after(() => closeAll(schedulers));

  test("3 schedulers creating runs at once never pass maxActiveRuns", async () => {
    await addDag(get(), "raced", { catchup: true, maxActiveRuns: 1 });
    const log = pino({ level: "silent" });
    const over: string[] = [];
    for (let trial = 0; trial < 30; trial++) {
      await get().db.deleteFrom("dag_run").where("dag_id", "=", "raced").execute();
      await get()
        .db.updateTable("dag")
        .set({ next_dagrun_create_after: null })
        .where("dag_id", "=", "raced")
        .execute();
      const now = "2025-01-10T00:00:01.000Z";
      await Promise.all(schedulers.map((database) => createDueRuns(database, { now, log })));
      const runs = await runsOf(get(), "raced");
      if (runs.length !== 1) over.push(`trial ${trial}: ${runs.length} runs`);
    }
    assert.deepEqual(over, [], "one run at a time");
  });
}
