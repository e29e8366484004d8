/**
 * Airflow 3's timetables beyond a plain cron or step: a cron trigger with an interval, several crons
 * (MultipleCronTriggerTimetable), an anchored step, @continuous; and what the API and LatestOnly
 * read from them. Cases marked "Airflow:" are transcribed from Airflow's own tests
 * (airflow-core/tests/unit/timetables/test_trigger_timetable.py, test_continuous_timetable.py); the
 * trigger vectors of the reference file run through every form that says the same schedule.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { DateTime } from "luxon";
import { describeSchedule, type Schedule } from "../schedule.ts";
import { SerializedDagSchema } from "../serialized.ts";
import {
  describeSummary,
  describeTimetable,
  inferManualDataInterval,
  latestRunWindow,
  nextDagRunInfo,
  type DagRunInfo,
  type DataInterval,
  type TimetableDag,
} from "./index.ts";

const utc = (text: string) => new Date(/(Z|[+-]\d\d:\d\d)$/.test(text) ? text : `${text}Z`);
const iso = (d: Date) => d.toISOString().replace(".000Z", "Z");
const FAR_NOW = utc("2100-01-01T00:00");
const HOUR = 3600;

function dagOf(schedule: Schedule, overrides: Partial<TimetableDag> = {}): TimetableDag {
  return {
    schedule,
    timezone: "UTC",
    startDate: null,
    endDate: null,
    catchup: true,
    semantics: "trigger",
    ...overrides,
  };
}

const crons = (expressions: string[], interval = 0): Schedule => ({
  kind: "cron_trigger",
  expressions,
  interval,
});
const delta = (seconds: number, anchor: string | null, interval = 0): Schedule => ({
  kind: "delta",
  seconds,
  anchor: anchor && utc(anchor).toISOString(),
  interval,
});

function next(dag: TimetableDag, last: DataInterval | null, now = FAR_NOW): DagRunInfo | null {
  return nextDagRunInfo(dag, { lastAutomatedDataInterval: last, now });
}

/** The next `count` runs in a row, each fed back as the last automated interval. */
function runs(dag: TimetableDag, count: number, now = FAR_NOW): DagRunInfo[] {
  const out: DagRunInfo[] = [];
  let last: DataInterval | null = null;
  for (let info = next(dag, last, now); info && out.length < count; info = next(dag, last, now)) {
    out.push(info);
    last = { start: info.dataIntervalStart, end: info.dataIntervalEnd };
  }
  return out;
}

const exact = (at: string): DataInterval => ({ start: utc(at), end: utc(at) });
const shown = (info: DagRunInfo | null) =>
  info && {
    logical: iso(info.logicalDate),
    interval: `${iso(info.dataIntervalStart)}/${iso(info.dataIntervalEnd)}`,
    runAfter: iso(info.runAfter),
  };
/** A trigger run at `tick` whose interval reaches back to `start` (default: the tick itself). */
const triggerRun = (tick: string, start = tick) => ({
  logical: iso(utc(start)),
  interval: `${iso(utc(start))}/${iso(utc(tick))}`,
  runAfter: iso(utc(tick)),
});

// ---------------------------------------------------------------------------------------------
// The reference vectors of CronTriggerTimetable and DeltaTriggerTimetable, through the new forms.

interface Vector {
  id: string;
  timetable: string;
  schedule: string;
  call: string;
  start_date: string | null;
  catchup: boolean;
  now: string | null;
  last_automated_data_interval: { start: string; end: string } | null;
  expected: Record<string, string>;
}

const fixture = JSON.parse(
  readFileSync(
    new URL("../../../test-fixtures/airflow/airflow-timetable-vectors.json", import.meta.url),
    "utf8",
  ),
) as { vectors: Vector[] };

const triggerVectors = fixture.vectors.filter((v) => v.timetable.endsWith("TriggerTimetable"));

/** The forms a vector's schedule can take: one cron, the same cron twice, a step with no anchor. */
function formsOf(v: Vector): [string, Schedule][] {
  if (v.timetable === "DeltaTriggerTimetable") {
    const hours = Number(/hours=(\d+)/.exec(v.schedule)![1]);
    return [["delta without anchor", delta(hours * HOUR, null)]];
  }
  const cron = v.schedule.split(" ")[0]!.startsWith("@") ? v.schedule.split(" ")[0]! : v.schedule;
  return [
    ["one cron", crons([cron])],
    ["the same cron twice", crons([cron, cron])],
  ];
}

test("the trigger vectors are there: 8 cron, 2 delta", () => {
  assert.equal(triggerVectors.filter((v) => v.timetable === "CronTriggerTimetable").length, 8);
  assert.equal(triggerVectors.filter((v) => v.timetable === "DeltaTriggerTimetable").length, 2);
});

for (const v of triggerVectors) {
  test(`Airflow vector ${v.id} through the cron_trigger and delta forms`, () => {
    assert.equal(v.call, "next_dagrun_info");
    const last = v.last_automated_data_interval;
    for (const [form, schedule] of formsOf(v)) {
      const dag = dagOf(schedule, {
        startDate: v.start_date === null ? null : utc(v.start_date),
        catchup: v.catchup,
      });
      const info = next(
        dag,
        last && { start: utc(last.start), end: utc(last.end) },
        v.now ? utc(v.now) : FAR_NOW,
      );
      const e = v.expected;
      assert.deepEqual(
        shown(info),
        {
          logical: iso(utc(e.logical_date!)),
          interval: `${iso(utc(e.data_interval_start!))}/${iso(utc(e.data_interval_end!))}`,
          runAfter: iso(utc(e.run_after!)),
        },
        form,
      );
    }
  });
}

// ---------------------------------------------------------------------------------------------
// CronTriggerTimetable with an interval.

test("Airflow: a cron trigger with an interval covers the interval before each tick; its logical date is the interval's start", () => {
  // Every Monday at 16:30, covering the day up to the run.
  const monday = dagOf(crons(["30 16 * * MON"], 16.5 * HOUR), { startDate: utc("2021-09-04T00:00") });
  const info = next(monday, { start: utc("2022-08-01T00:00"), end: utc("2022-08-01T16:30") });
  assert.deepEqual(shown(info), triggerRun("2022-08-08T16:30", "2022-08-08T00:00"));
});

test("a cron trigger with an interval: the runs are the ticks, without catchup too; manual runs cover the interval before them", () => {
  const weekly = dagOf(crons(["0 18 * * 5"], 4 * 24 * HOUR + 9 * HOUR), {
    startDate: utc("2025-01-01T00:00"),
  });
  // Fridays at 18:00, from Monday 09:00.
  assert.deepEqual(runs(weekly, 2).map(shown), [
    triggerRun("2025-01-03T18:00", "2024-12-30T09:00"),
    triggerRun("2025-01-10T18:00", "2025-01-06T09:00"),
  ]);
  const latest = { ...weekly, catchup: false };
  assert.deepEqual(
    shown(next(latest, null, utc("2025-03-19T12:00"))),
    triggerRun("2025-03-14T18:00", "2025-03-10T09:00"),
  );
  assert.deepEqual(inferManualDataInterval(weekly, utc("2025-03-19T12:00")), {
    start: utc("2025-03-15T03:00"),
    end: utc("2025-03-19T12:00"),
  });
});

// ---------------------------------------------------------------------------------------------
// MultipleCronTriggerTimetable.

const hourlyAndHalf = (overrides: Partial<TimetableDag> = {}) =>
  dagOf(crons(["@hourly", "30 * * * *"]), overrides);

test("Airflow: several crons, first run with catchup: the first tick of any cron at or after startDate", () => {
  for (const [start, expected] of [
    ["2025-01-01T00:00", "2025-01-01T00:00"],
    ["2025-01-01T00:05", "2025-01-01T00:30"],
    ["2025-01-01T00:35", "2025-01-01T01:00"],
  ] as const) {
    const info = next(hourlyAndHalf({ startDate: utc(start) }), null);
    assert.deepEqual(shown(info), triggerRun(expected), `startDate ${start}`);
  }
});

test("Airflow: several crons with catchup go on at the next tick of any of them", () => {
  assert.deepEqual(shown(next(hourlyAndHalf(), exact("2025-01-01T00:00"))), triggerRun("2025-01-01T00:30"));
  assert.deepEqual(shown(next(hourlyAndHalf(), exact("2025-01-01T00:30"))), triggerRun("2025-01-01T01:00"));
});

test("Airflow: several crons without catchup: the latest tick already due, else the earliest to come", () => {
  const noCatchup = hourlyAndHalf({ catchup: false });
  const after = (now: string) => shown(next(noCatchup, exact("2025-02-01T00:00"), utc(now)));
  assert.deepEqual(after("2025-02-01T00:30"), triggerRun("2025-02-01T00:30"), "exact");
  assert.deepEqual(after("2025-02-01T01:59"), triggerRun("2025-02-01T01:30"), "the closest past tick");
  assert.deepEqual(
    after("2025-02-01T00:29"),
    triggerRun("2025-02-01T00:30"),
    "none due: the closest to come",
  );
});

test("several crons: their union in order, one run where two tick at once, a weekday cron only on weekdays", () => {
  // 2025-01-03 is a Friday.
  const dag = dagOf(crons(["0 3 * * *", "30 15 * * 1-5", "0 3 * * 5"]), {
    startDate: utc("2025-01-03T00:00"),
  });
  assert.deepEqual(
    runs(dag, 6).map((r) => iso(r.runAfter)),
    [
      "2025-01-03T03:00:00Z",
      "2025-01-03T15:30:00Z",
      "2025-01-04T03:00:00Z", // Saturday: no 15:30
      "2025-01-05T03:00:00Z",
      "2025-01-06T03:00:00Z",
      "2025-01-06T15:30:00Z",
    ],
  );
});

test("several crons share the interval, and a cron that never fires is left out", () => {
  const dag = dagOf(crons(["0 0 30 2 *", "10 1 * * *", "40 2 * * *"], HOUR), {
    startDate: utc("2025-01-01T00:00"),
  });
  assert.deepEqual(runs(dag, 3).map(shown), [
    triggerRun("2025-01-01T01:10", "2025-01-01T00:10"),
    triggerRun("2025-01-01T02:40", "2025-01-01T01:40"),
    triggerRun("2025-01-02T01:10", "2025-01-02T00:10"),
  ]);
  assert.equal(next(dagOf(crons(["0 0 30 2 *"]), { startDate: utc("2025-01-01T00:00") }), null), null);
  assert.deepEqual(inferManualDataInterval(dag, utc("2025-06-01T12:00")), {
    start: utc("2025-06-01T11:00"),
    end: utc("2025-06-01T12:00"),
  });
});

test("several crons across DST in Amsterdam: each tick at its local time, 02:30 moved to 03:30 on the short day", () => {
  const zone = "Europe/Amsterdam";
  const dag = dagOf(crons(["30 2 * * *", "0 12 * * *"]), {
    timezone: zone,
    startDate: utc("2025-03-29T00:00"),
  });
  const local = (d: Date) => DateTime.fromJSDate(d, { zone }).toFormat("MM-dd HH:mm");
  assert.deepEqual(
    runs(dag, 6).map((r) => local(r.runAfter)),
    ["03-29 02:30", "03-29 12:00", "03-30 03:30", "03-30 12:00", "03-31 02:30", "03-31 12:00"],
  );
  // In autumn the repeated 02:30 runs once, at its second occurrence (as one cron does).
  const autumn = runs({ ...dag, startDate: utc("2025-10-25T12:00") }, 3).map((r) => iso(r.runAfter));
  assert.deepEqual(autumn, ["2025-10-26T01:30:00Z", "2025-10-26T11:00:00Z", "2025-10-27T01:30:00Z"]);
});

// ---------------------------------------------------------------------------------------------
// Steps with an anchor.

const every6hFrom3 = (overrides: Partial<TimetableDag> = {}, interval = 0) =>
  dagOf(delta(6 * HOUR, "2025-01-01T03:00", interval), overrides);

test("an anchored step runs on its grid: catchup starts at the first tick at or after startDate", () => {
  const data = every6hFrom3({ semantics: "data_interval", startDate: utc("2025-01-01T00:00") });
  assert.deepEqual(
    runs(data, 2).map((r) => `${iso(r.dataIntervalStart)}/${iso(r.dataIntervalEnd)}`),
    ["2025-01-01T03:00:00Z/2025-01-01T09:00:00Z", "2025-01-01T09:00:00Z/2025-01-01T15:00:00Z"],
  );
  // Without an anchor the same step counts from startDate itself.
  const loose = { ...data, schedule: delta(6 * HOUR, null) };
  assert.equal(iso(runs(loose, 1)[0]!.dataIntervalStart), "2025-01-01T00:00:00Z");
  // The grid reaches before its anchor, and the trigger form runs at the ticks.
  const trigger = every6hFrom3({ startDate: utc("2024-06-01T01:00") });
  assert.deepEqual(
    runs(trigger, 2).map((r) => iso(r.runAfter)),
    ["2024-06-01T03:00:00Z", "2024-06-01T09:00:00Z"],
  );
});

test("an anchored step without catchup: the latest complete interval, or the tick that just passed", () => {
  const now = utc("2025-01-03T13:20");
  const data = every6hFrom3({
    semantics: "data_interval",
    catchup: false,
    startDate: utc("2025-01-01T00:00"),
  });
  assert.deepEqual(shown(next(data, null, now)), {
    logical: "2025-01-03T03:00:00Z",
    interval: "2025-01-03T03:00:00Z/2025-01-03T09:00:00Z",
    runAfter: "2025-01-03T09:00:00Z",
  });
  // Trigger semantics without startDate: the tick at or before now (an unanchored step takes now).
  const trigger = every6hFrom3({ catchup: false });
  assert.deepEqual(shown(next(trigger, null, now)), triggerRun("2025-01-03T09:00"));
  assert.deepEqual(
    shown(next(dagOf(delta(6 * HOUR, null), { catchup: false }), null, now)),
    triggerRun("2025-01-03T13:20"),
  );
  // After a pause the next run is the latest tick, not every missed one.
  const paused = next(trigger, exact("2025-01-01T09:00"), now);
  assert.deepEqual(shown(paused), triggerRun("2025-01-03T09:00"));
});

test("an anchored step with an interval covers the interval before each tick; manual runs too", () => {
  const dag = every6hFrom3({ startDate: utc("2025-01-01T00:00") }, 6 * HOUR);
  assert.deepEqual(runs(dag, 2).map(shown), [
    triggerRun("2025-01-01T03:00", "2024-12-31T21:00"),
    triggerRun("2025-01-01T09:00", "2025-01-01T03:00"),
  ]);
  assert.deepEqual(inferManualDataInterval(dag, utc("2025-01-02T10:00")), {
    start: utc("2025-01-02T04:00"),
    end: utc("2025-01-02T10:00"),
  });
  // With data intervals, a manual run covers the latest complete step of the grid.
  const data = every6hFrom3({ semantics: "data_interval" });
  assert.deepEqual(inferManualDataInterval(data, utc("2025-01-02T10:00")), {
    start: utc("2025-01-02T03:00"),
    end: utc("2025-01-02T09:00"),
  });
});

test("an anchored step is a fixed duration: across DST its local time moves (a cron keeps it)", () => {
  const zone = "Europe/Amsterdam";
  const daily = dagOf(delta(24 * HOUR, "2025-03-29T02:00"), {
    timezone: zone,
    startDate: utc("2025-03-29T00:00"),
  });
  const local = (d: Date) => DateTime.fromJSDate(d, { zone }).toFormat("MM-dd HH:mm");
  assert.deepEqual(
    runs(daily, 2).map((r) => local(r.runAfter)),
    ["03-29 03:00", "03-30 04:00"],
  );
});

// ---------------------------------------------------------------------------------------------
// ContinuousTimetable.

const BEFORE = "2023-03-01T00:00";
const START = "2023-03-03T00:00";
const DURING = "2023-03-06T00:00";
const END = "2023-03-10T00:00";
const AFTER = "2023-03-12T00:00";
const continuous = (overrides: Partial<TimetableDag> = {}) =>
  dagOf({ kind: "continuous" }, { startDate: utc(START), endDate: utc(END), ...overrides });

test("Airflow: @continuous: the first run covers startDate up to now, and is due now", () => {
  assert.deepEqual(shown(next(continuous(), null, utc(DURING))), {
    logical: iso(utc(START)),
    interval: `${iso(utc(START))}/${iso(utc(DURING))}`,
    runAfter: iso(utc(DURING)),
  });
});

test("Airflow: @continuous before startDate waits for it", () => {
  assert.deepEqual(shown(next(continuous(), null, utc(BEFORE))), triggerRun(START));
});

test("Airflow: @continuous after a run covers the time since it ended, up to now", () => {
  const info = next(continuous(), { start: utc(START), end: utc(DURING) }, utc("2023-03-07T00:00"));
  assert.deepEqual(shown(info), {
    logical: iso(utc(DURING)),
    interval: `${iso(utc(DURING))}/2023-03-07T00:00:00Z`,
    runAfter: "2023-03-07T00:00:00Z",
  });
});

test("Airflow: @continuous stops at endDate, and restarts from a startDate moved past the last run", () => {
  assert.equal(next(continuous(), { start: utc(START), end: utc(DURING) }, utc(AFTER)), null);
  const moved = next(continuous(), { start: utc(BEFORE), end: utc("2023-03-01T01:00") }, utc(BEFORE));
  assert.equal(iso(moved!.dataIntervalStart), iso(utc(START)));
});

test("@continuous without startDate starts now; a manual run is its instant", () => {
  const now = utc("2025-05-05T05:05");
  const info = next(continuous({ startDate: null, endDate: null }), null, now);
  assert.deepEqual(shown(info), triggerRun("2025-05-05T05:05"));
  assert.deepEqual(inferManualDataInterval(continuous(), now), { start: now, end: now });
});

// ---------------------------------------------------------------------------------------------
// LatestOnly's window, and what listings show.

test("latestRunWindow: from a run's interval start to the end of the run after it (Airflow's LatestOnlyOperator)", () => {
  const window = (dag: TimetableDag, run: DataInterval) => {
    const w = latestRunWindow(dag, run, FAR_NOW);
    return w && `${iso(w.start)}/${iso(w.end)}`;
  };
  const daily = (semantics: TimetableDag["semantics"]) =>
    dagOf({ kind: "cron", expression: "0 0 * * *", preset: "@daily" }, { semantics, catchup: false });
  const day = { start: utc("2025-01-01T00:00"), end: utc("2025-01-02T00:00") };
  assert.equal(window(daily("data_interval"), day), "2025-01-01T00:00:00Z/2025-01-03T00:00:00Z");
  // A trigger run is latest until the next tick, whatever catchup says.
  assert.equal(
    window(daily("trigger"), exact("2025-01-01T00:00")),
    "2025-01-01T00:00:00Z/2025-01-02T00:00:00Z",
  );
  const both = dagOf(crons(["0 3 * * *", "30 15 * * *"]), { catchup: false });
  assert.equal(window(both, exact("2025-01-01T03:00")), "2025-01-01T03:00:00Z/2025-01-01T15:30:00Z");
  const once = dagOf({ kind: "once" }, { startDate: utc("2025-01-01T00:00") });
  assert.equal(window(once, exact("2025-01-01T00:00")), null, "nothing follows @once: it stays the latest");
});

test("describeTimetable and describeSummary: several crons, anchored steps, @continuous", () => {
  const cases: [Schedule, string, string][] = [
    [
      crons(["0 3 * * *", "30 15 * * 1-5"]),
      "0 3 * * *, 30 15 * * 1-5",
      "every day at 03:00; and at 15:30, Monday through Friday, Europe/Amsterdam",
    ],
    [
      crons(["@daily", "0 7-8 * * *"], HOUR),
      "@daily, 0 7-8 * * *",
      "every day at 00:00; and every hour, between 07:00 and 08:00, Europe/Amsterdam",
    ],
    [
      delta(6 * HOUR, "2025-01-01T03:00"),
      "every 21600s from 2025-01-01T03:00:00.000Z",
      "every 6 hours, counted from 2025-01-01T03:00:00Z",
    ],
    [delta(1800, null, 600), "every 1800s", "every 30 minutes"],
    [{ kind: "continuous" }, "@continuous", "continuously: a new run as soon as the last one ends"],
  ];
  for (const [schedule, summary, description] of cases) {
    assert.equal(describeSchedule(schedule), summary);
    assert.equal(describeTimetable({ schedule, timezone: "Europe/Amsterdam" }), description);
    // The API has only the summary the DAG row keeps: it reads the same description back from it.
    assert.equal(describeSummary(summary, "Europe/Amsterdam"), description, summary);
  }
  assert.equal(describeSummary("@daily", "UTC"), "every day at 00:00, UTC");
  assert.equal(describeSummary("None", "UTC"), "never (manual runs only)");
  assert.equal(describeSummary("not, a cron", "UTC"), "not, a cron", "unreadable: shown as stored");
  const many = crons(Array.from({ length: 40 }, (_, i) => `${i} 3 * * *`));
  assert.equal(describeSchedule(many).length, 250, "clipped to the DAG row's column");
});

test("the serialized form: new kinds parse; stored forms without them still do", () => {
  const base = {
    version: 1,
    dagId: "d",
    fileloc: "d.ts",
    description: null,
    docMd: null,
    startDate: null,
    endDate: null,
    timezone: "UTC",
    catchup: false,
    maxActiveRuns: 1,
    maxActiveTasks: 16,
    dagrunTimeout: null,
    params: {},
    tags: [],
    owner: "o",
    isPausedUponCreation: null,
    tasks: [],
  };
  for (const schedule of [
    crons(["@daily", "30 15 * * 1-5"], 600),
    delta(60, "2025-01-01T00:00"),
    { kind: "continuous" },
  ]) {
    const parsed = SerializedDagSchema.parse({ ...base, schedule, scheduleSemantics: "trigger" });
    assert.deepEqual(parsed.schedule, schedule);
  }
  const old = SerializedDagSchema.parse({ ...base, schedule: { kind: "interval", seconds: 60 } });
  assert.equal(old.scheduleSemantics, "data_interval", "forms stored before the field meant data intervals");
  assert.throws(() => SerializedDagSchema.parse({ ...base, schedule: crons([]) }));
});
