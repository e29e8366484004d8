/**
 * Airflow 3's timetables end to end: DAG files using them are parsed, the scheduler creates their
 * runs (at a fake now), and the runs run for real. Several crons (MultipleCronTriggerTimetable)
 * get a run at each tick of any of them; @continuous gets its next run only once the previous one
 * has ended, covering the time since.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { pino } from "pino";
import { describeSummary } from "../core/timetables/index.ts";
import { backfillIntervals } from "../operations/backfill.ts";
import { dagRunStore } from "../storage/dag-runs.ts";
import { dagStore } from "../storage/dags.ts";
import { dagsHome, type DagsHome } from "../test-support/dags-home.ts";
import { createDueRuns } from "./create-runs.ts";

const TWICE = `import { bash, dag, multipleCronTriggerTimetable } from "updraft";
export default dag(
  {
    dagId: "twice",
    schedule: multipleCronTriggerTimetable(["0 3 * * *", "30 15 * * 1-5"], { timezone: "UTC", interval: "1h" }),
    startDate: "2025-01-03",
    catchup: true,
    maxActiveRuns: 50,
  },
  () => {
    bash("work", { command: "echo covering {{ data_interval_start }} to {{ data_interval_end }}" });
  },
);`;

const FOREVER = `import { bash, dag } from "updraft";
export default dag({ dagId: "forever", schedule: "@continuous", startDate: "2025-01-01", isPausedUponCreation: true }, () => {
  bash("work", { command: "echo again" });
});`;

let h: DagsHome;
before(
  async () =>
    (h = await dagsHome(
      { "twice.ts": TWICE, "forever.ts": FOREVER },
      { UPDRAFT__CORE__DAGS_ARE_PAUSED_AT_CREATION: "false" },
    )),
);
after(() => h.close());

const log = pino({ level: "silent" });

/** What a scheduler creates at `now`: loops until nothing more is due. */
async function createAt(now: string): Promise<void> {
  while ((await createDueRuns(h.database, { now, log })) > 0);
}

const runsOf = (dagId: string) =>
  h.database.db
    .selectFrom("dag_run")
    .select(["run_id", "data_interval_start", "data_interval_end", "run_after"])
    .where("dag_id", "=", dagId)
    .orderBy("logical_date")
    .execute();

test("several crons: a run at each tick of any of them, each covering the hour before it", async () => {
  // 2025-01-03 is a Friday, 2025-01-06 a Monday: 15:30 only on weekdays.
  await createAt("2025-01-06T16:00:00.000Z");
  const runs = await runsOf("twice");
  assert.deepEqual(
    runs.map((r) => r.run_after),
    [
      "2025-01-03T03:00:00.000Z",
      "2025-01-03T15:30:00.000Z",
      "2025-01-04T03:00:00.000Z",
      "2025-01-05T03:00:00.000Z",
      "2025-01-06T03:00:00.000Z",
      "2025-01-06T15:30:00.000Z",
    ].map((at) => new Date(at).toISOString()),
  );
  const last = runs.at(-1)!;
  // The logical date (and so the run id) is the interval's start, as in Airflow.
  assert.equal(last.run_id, "scheduled__2025-01-06T14:30:00+00:00");
  assert.equal(new Date(last.data_interval_start!).toISOString(), "2025-01-06T14:30:00.000Z");
  assert.equal(new Date(last.data_interval_end!).toISOString(), "2025-01-06T15:30:00.000Z");
  const row = (await dagStore(h.database).get("twice"))!;
  assert.equal(new Date(row.next_dagrun_create_after!).toISOString(), "2025-01-07T03:00:00.000Z");
  assert.equal(row.schedule_description, "0 3 * * *, 30 15 * * 1-5");
  assert.equal(
    describeSummary(row.schedule_description, row.timezone),
    "every day at 03:00; and at 15:30, Monday through Friday, UTC",
  );

  const run = (await dagRunStore(h.database).get("twice", last.run_id))!;
  assert.equal(await h.drive(run), "success");
  assert.match(h.log(run, "work"), /covering 2025-01-06T14:30:00\+00:00 to 2025-01-06T15:30:00\+00:00/);
});

test("@continuous: the next run is created once the previous one has ended, covering the time since; nothing to backfill", async () => {
  assert.equal((await dagStore(h.database).get("forever"))!.max_active_runs, 1);
  // Paused until now (the test before ran the scheduler too): its first run is computed when created.
  await dagStore(h.database).setPaused("forever", false);
  await createAt("2025-02-01T10:00:00.000Z");
  await createAt("2025-02-01T10:00:05.000Z");
  const [first, ...others] = await runsOf("forever");
  assert.equal(others.length, 0, "one run at a time: the first has not ended yet");
  assert.equal(first!.run_id, "scheduled__2025-01-01T00:00:00+00:00");
  assert.equal(new Date(first!.data_interval_end!).toISOString(), "2025-02-01T10:00:00.000Z");

  const run = (await dagRunStore(h.database).get("forever", first!.run_id))!;
  assert.equal(await h.drive(run), "success");
  await createAt("2025-02-01T10:00:10.000Z");
  const second = (await runsOf("forever"))[1]!;
  assert.equal(second.run_id, "scheduled__2025-02-01T10:00:00+00:00");
  assert.equal(new Date(second.data_interval_start!).toISOString(), "2025-02-01T10:00:00.000Z");
  assert.equal(
    new Date(second.data_interval_end!).toISOString(),
    "2025-02-01T10:00:10.000Z",
    "up to when it was created, not when the first one was",
  );
  assert.equal((await runsOf("forever")).length, 2);
  await assert.rejects(
    backfillIntervals(h.database, "forever", new Date("2025-01-01"), new Date("2025-01-05")),
    /dag "forever" runs continuously \("@continuous"\), so it has no intervals to backfill/,
  );
});
