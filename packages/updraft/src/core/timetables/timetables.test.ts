import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { DateTime } from "luxon";
import { parseSchedule, type Schedule } from "../schedule.ts";
import { SERIALIZED_DAG_VERSION, SerializedDagSchema } from "../serialized.ts";
import {
  describeTimetable,
  inferManualDataInterval,
  nextDagRunInfo,
  runIdFor,
  timetableDagOf,
  type DagRunInfo,
  type DataInterval,
  type TimetableDag,
} from "./index.ts";

// ---------------------------------------------------------------------------------------------
// Airflow's vectors: every one is its own test case.

interface Vector {
  id: string;
  timetable: string;
  schedule: string;
  timezone: string;
  call: string;
  start_date: string | null;
  catchup: boolean | string | null;
  now: string | null;
  last_automated_data_interval: { start: string; end: string } | null;
  run_after?: string;
  expected: Record<string, unknown>;
}

const fixture = JSON.parse(
  readFileSync(
    new URL("../../../test-fixtures/airflow/airflow-timetable-vectors.json", import.meta.url),
    "utf8",
  ),
) as { vectors: Vector[] };

/** The doc vectors leave the year open ("YYYY-02-01T01:05"); any year without DST on Feb 1 works. */
function instant(text: string): Date {
  const filled = text.replace("YYYY", "2025");
  return new Date(/(Z|[+-]\d\d:\d\d)$/.test(filled) ? filled : `${filled}Z`);
}

/** "30 16 * * *", "@hourly (serialised as '0 * * * *')" or "timedelta(hours=1)". */
function scheduleOf(v: Vector, timezone: string): Schedule {
  const delta = /^timedelta\((days|hours|minutes|seconds)=(\d+)\)$/.exec(v.schedule);
  if (!delta) return parseSchedule(v.schedule.split(" (")[0]!, timezone);
  const unit = { days: 86400, hours: 3600, minutes: 60, seconds: 1 }[delta[1] as "days"];
  return { kind: "interval", seconds: Number(delta[2]) * unit };
}

/** One DAG per value a vector allows ("null or 2021-09-04...", "true or false"). */
function dagsOf(v: Vector): TimetableDag[] {
  const timezone = v.timezone.split(" ")[0]!;
  const starts = v.start_date === null ? [null] : v.start_date.split(" or ");
  const catchups =
    typeof v.catchup === "string" ? v.catchup.split(" or ").map((c) => c === "true") : [!!v.catchup];
  return starts.flatMap((start) =>
    catchups.map((catchup) => ({
      schedule: scheduleOf(v, timezone),
      timezone,
      startDate: start === null || start === "null" ? null : instant(start),
      endDate: null,
      catchup,
      semantics: v.timetable.includes("Trigger") ? "trigger" : "data_interval",
    })),
  );
}

/** Vectors with "now": null say now is not used; a far-off now makes any use show. */
const UNUSED_NOW = new Date("2100-01-01T00:00:00Z");

function lastOf(v: Vector): DataInterval | null {
  const last = v.last_automated_data_interval;
  return last && { start: instant(last.start), end: instant(last.end) };
}

function assertRun(actual: DagRunInfo | null, expected: unknown, label: string): void {
  const e = expected as Record<string, string>;
  assert.ok(actual, `${label}: expected a run`);
  assert.deepEqual(
    {
      logicalDate: actual.logicalDate.toISOString(),
      dataIntervalStart: actual.dataIntervalStart.toISOString(),
      dataIntervalEnd: actual.dataIntervalEnd.toISOString(),
      runAfter: actual.runAfter.toISOString(),
    },
    {
      logicalDate: instant(e.logical_date!).toISOString(),
      dataIntervalStart: instant(e.data_interval_start!).toISOString(),
      dataIntervalEnd: instant(e.data_interval_end!).toISOString(),
      runAfter: instant(e.run_after!).toISOString(),
    },
    label,
  );
}

/** The runs a scheduler creates when it first sees the DAG at `now`: each one whose runAfter passed. */
function createdRuns(dag: TimetableDag, now: Date): DagRunInfo[] {
  const created: DagRunInfo[] = [];
  let info = nextDagRunInfo(dag, { lastAutomatedDataInterval: null, now });
  while (info && info.runAfter <= now) {
    created.push(info);
    const last = { start: info.dataIntervalStart, end: info.dataIntervalEnd };
    info = nextDagRunInfo(dag, { lastAutomatedDataInterval: last, now });
  }
  return created;
}

const hhmm = (d: Date) => d.toISOString().slice(11, 16);

function runVector(v: Vector): void {
  const now = v.now === null ? UNUSED_NOW : instant(v.now);
  for (const dag of dagsOf(v)) {
    const label = `${v.id} (startDate ${dag.startDate?.toISOString() ?? null}, catchup ${dag.catchup})`;
    if (v.call === "next_dagrun_info") {
      assertRun(nextDagRunInfo(dag, { lastAutomatedDataInterval: lastOf(v), now }), v.expected, label);
    } else if (v.call === "infer_manual_data_interval") {
      const runAfter = instant(v.run_after!);
      const { start, end } = inferManualDataInterval(dag, runAfter);
      // Manual runs take logical date = data interval start, as the vector does.
      assertRun(
        { logicalDate: start, dataIntervalStart: start, dataIntervalEnd: end, runAfter },
        v.expected,
        label,
      );
    } else if (v.call.startsWith("runs created when the DAG is enabled")) {
      const covered = createdRuns(dag, now).map((r) => [hhmm(r.dataIntervalStart), hhmm(r.dataIntervalEnd)]);
      assert.deepEqual(covered, v.expected.intervals_covered_same_day, label);
    } else if (v.call === "runs created when the scheduler picks the DAG up") {
      const first = nextDagRunInfo(dag, { lastAutomatedDataInterval: null, now });
      assertRun(first, v.expected.first_run, `${label}: first run`);
      assert.ok(first!.runAfter <= now, "the first run is created at once");
      if (v.expected.second_run === undefined) continue;
      const last = { start: first!.dataIntervalStart, end: first!.dataIntervalEnd };
      const second = nextDagRunInfo(dag, { lastAutomatedDataInterval: last, now });
      assertRun(second, v.expected.second_run, `${label}: second run`);
      assert.ok(second!.runAfter > now, "the second run waits for its interval to end");
    } else {
      assert.fail(`${v.id}: unknown call "${v.call}"; map it onto the API before adding the vector`);
    }
  }
}

test("the vectors file is where the tests expect it and holds vectors", () => {
  assert.ok(fixture.vectors.length >= 48, `found ${fixture.vectors.length}`);
});

for (const vector of fixture.vectors) {
  test(`Airflow vector ${vector.id}`, () => runVector(vector));
}

// ---------------------------------------------------------------------------------------------
// Updraft's own cases.

const utc = (text: string) => new Date(text.endsWith("Z") ? text : `${text}Z`);

function dagOf(overrides: Partial<TimetableDag> & { schedule: Schedule }): TimetableDag {
  return {
    timezone: "UTC",
    startDate: utc("2025-01-01T00:00"),
    endDate: null,
    catchup: true,
    semantics: "data_interval",
    ...overrides,
  };
}

/** The next `count` runs in a row, each one fed back as the last automated interval. */
function runs(dag: TimetableDag, count: number, now = UNUSED_NOW, last: DataInterval | null = null) {
  const out: DagRunInfo[] = [];
  for (let i = 0; i < count; i++) {
    const info = nextDagRunInfo(dag, { lastAutomatedDataInterval: last, now });
    if (!info) break;
    out.push(info);
    last = { start: info.dataIntervalStart, end: info.dataIntervalEnd };
  }
  return out;
}

const iso = (d: Date) => d.toISOString().replace(".000Z", "Z");
const intervals = (list: DagRunInfo[]) =>
  list.map((r) => `${iso(r.dataIntervalStart)}/${iso(r.dataIntervalEnd)}`);
const ticks = (list: DagRunInfo[]) => list.map((r) => iso(r.runAfter));
/** Wall-clock "MM-dd HH:mm" in a zone. */
const local = (d: Date, zone: string) => DateTime.fromJSDate(d, { zone }).toFormat("MM-dd HH:mm");

test("@daily with data intervals: the run for a day is created when the day ends (semantics doc)", () => {
  const [first, second] = runs(dagOf({ schedule: parseSchedule("@daily", "UTC") }), 2);
  assert.equal(iso(first!.logicalDate), "2025-01-01T00:00:00Z");
  assert.equal(iso(first!.runAfter), "2025-01-02T00:00:00Z");
  assert.equal(iso(second!.logicalDate), "2025-01-02T00:00:00Z");
});

test("endDate: a run whose logical date is after endDate is not scheduled, one on it is", () => {
  const endDate = utc("2025-01-03T00:00");
  const daily = parseSchedule("@daily", "UTC");
  assert.deepEqual(
    runs(dagOf({ schedule: daily, endDate }), 10).map((r) => iso(r.logicalDate)),
    ["2025-01-01T00:00:00Z", "2025-01-02T00:00:00Z", "2025-01-03T00:00:00Z"],
  );
  assert.deepEqual(ticks(runs(dagOf({ schedule: daily, endDate, semantics: "trigger" }), 10)), [
    "2025-01-01T00:00:00Z",
    "2025-01-02T00:00:00Z",
    "2025-01-03T00:00:00Z",
  ]);
  const every12h = dagOf({ schedule: { kind: "interval", seconds: 43200 }, endDate });
  assert.equal(runs(every12h, 10).length, 5, "00:00, 12:00 on the 1st and 2nd, then 00:00 on the 3rd");
  // Without catchup the latest interval is after endDate, so nothing more runs.
  const late = { lastAutomatedDataInterval: null, now: utc("2025-02-01T00:00") };
  assert.equal(nextDagRunInfo(dagOf({ schedule: daily, endDate, catchup: false }), late), null);
});

test("@once runs once, at startDate, whatever catchup and now say", () => {
  const once = dagOf({ schedule: { kind: "once" }, startDate: utc("2025-03-01T09:00"), catchup: false });
  const info = nextDagRunInfo(once, { lastAutomatedDataInterval: null, now: utc("2026-01-01T00:00") })!;
  assert.deepEqual(Object.values(info).map(iso), Array(4).fill("2025-03-01T09:00:00Z"));
  const done = { start: info.dataIntervalStart, end: info.dataIntervalEnd };
  assert.equal(nextDagRunInfo(once, { lastAutomatedDataInterval: done, now: UNUSED_NOW }), null);
  assert.equal(
    nextDagRunInfo({ ...once, startDate: null }, { lastAutomatedDataInterval: null, now: UNUSED_NOW }),
    null,
  );
  const ended = { ...once, endDate: utc("2025-02-01T00:00") };
  assert.equal(nextDagRunInfo(ended, { lastAutomatedDataInterval: null, now: UNUSED_NOW }), null);
});

test("a manual-only DAG (schedule null) has no scheduled runs; a manual run's interval is its instant", () => {
  const manual = dagOf({ schedule: null });
  assert.equal(nextDagRunInfo(manual, { lastAutomatedDataInterval: null, now: UNUSED_NOW }), null);
  const at = utc("2025-05-05T05:05:05.5");
  assert.deepEqual(inferManualDataInterval(manual, at), { start: at, end: at });
  assert.deepEqual(inferManualDataInterval(dagOf({ schedule: { kind: "once" } }), at), {
    start: at,
    end: at,
  });
});

test("intervals with catchup: every interval since startDate, on the startDate grid", () => {
  const every6h = dagOf({
    schedule: { kind: "interval", seconds: 6 * 3600 },
    startDate: utc("2025-01-01T01:00"),
  });
  assert.deepEqual(intervals(runs(every6h, 3)), [
    "2025-01-01T01:00:00Z/2025-01-01T07:00:00Z",
    "2025-01-01T07:00:00Z/2025-01-01T13:00:00Z",
    "2025-01-01T13:00:00Z/2025-01-01T19:00:00Z",
  ]);
  // now does not matter with catchup: a scheduler down for days still gets every interval.
  const last = { start: utc("2025-01-01T01:00"), end: utc("2025-01-01T07:00") };
  const after = nextDagRunInfo(every6h, { lastAutomatedDataInterval: last, now: utc("2025-01-09T00:00") });
  assert.equal(iso(after!.dataIntervalStart), "2025-01-01T07:00:00Z");
});

test("intervals without catchup: the interval ending now, then on from there", () => {
  const every6h = dagOf({ schedule: { kind: "interval", seconds: 6 * 3600 }, catchup: false });
  const now = utc("2025-01-03T13:00");
  const stale = { start: utc("2025-01-01T00:00"), end: utc("2025-01-01T06:00") };
  const first = nextDagRunInfo(every6h, { lastAutomatedDataInterval: stale, now })!;
  assert.equal(
    `${iso(first.dataIntervalStart)}/${iso(first.dataIntervalEnd)}`,
    "2025-01-03T07:00:00Z/2025-01-03T13:00:00Z",
  );
  // Asked again just after that run is created, it stays on the grid: the previous end wins.
  const last = { start: first.dataIntervalStart, end: first.dataIntervalEnd };
  const second = nextDagRunInfo(every6h, {
    lastAutomatedDataInterval: last,
    now: utc("2025-01-03T13:00:05"),
  })!;
  assert.equal(iso(second.dataIntervalStart), "2025-01-03T13:00:00Z");
});

test("intervals with trigger semantics: a run at each step, starting at startDate or now", () => {
  const every6h = { kind: "interval", seconds: 6 * 3600 } as const;
  const caughtUp = dagOf({ schedule: every6h, semantics: "trigger", startDate: utc("2025-01-01T01:00") });
  assert.deepEqual(ticks(runs(caughtUp, 2)), ["2025-01-01T01:00:00Z", "2025-01-01T07:00:00Z"]);
  const now = utc("2025-01-03T13:20");
  const latest = dagOf({ schedule: every6h, semantics: "trigger", catchup: false });
  assert.deepEqual(ticks(runs(latest, 2, now)), ["2025-01-03T13:20:00Z", "2025-01-03T19:20:00Z"]);
});

test("cron in the DAG's timezone: @daily in Amsterdam runs at local midnight", () => {
  const dag = dagOf({ schedule: parseSchedule("@daily", "Europe/Amsterdam"), timezone: "Europe/Amsterdam" });
  assert.deepEqual(intervals(runs(dag, 1)), ["2025-01-01T23:00:00Z/2025-01-02T23:00:00Z"]);
  const summer = { ...dag, startDate: utc("2025-07-01T00:00") };
  assert.deepEqual(intervals(runs(summer, 1)), ["2025-07-01T22:00:00Z/2025-07-02T22:00:00Z"]);
});

const AMSTERDAM = "Europe/Amsterdam";
const at0230 = (overrides: Partial<TimetableDag>) =>
  dagOf({ schedule: parseSchedule("30 2 * * *", AMSTERDAM), timezone: AMSTERDAM, ...overrides });

test("DST gap: 02:30 Amsterdam on the spring-forward day fires at the next valid time, 03:30", () => {
  const trigger = runs(at0230({ semantics: "trigger", startDate: utc("2025-03-28T12:00") }), 3);
  assert.deepEqual(
    trigger.map((r) => local(r.runAfter, AMSTERDAM)),
    ["03-29 02:30", "03-30 03:30", "03-31 02:30"],
  );
  // Data intervals follow the same ticks: 24 h, then 23 h across the gap.
  const data = runs(at0230({ startDate: utc("2025-03-29T00:00") }), 2);
  assert.deepEqual(intervals(data), [
    "2025-03-29T01:30:00Z/2025-03-30T01:30:00Z",
    "2025-03-30T01:30:00Z/2025-03-31T00:30:00Z",
  ]);
});

test("DST overlap: 02:30 Amsterdam on the fall-back day fires once, at the second 02:30 (as Airflow)", () => {
  const trigger = runs(at0230({ semantics: "trigger", startDate: utc("2025-10-24T12:00") }), 3);
  assert.deepEqual(ticks(trigger), ["2025-10-25T00:30:00Z", "2025-10-26T01:30:00Z", "2025-10-27T01:30:00Z"]);
  assert.equal(trigger.filter((r) => local(r.runAfter, AMSTERDAM).startsWith("10-26")).length, 1);
  // Without catchup, a scheduler looking between the two 02:30s still schedules one run that day.
  const noCatchup = at0230({ semantics: "trigger", catchup: false });
  const before = { start: utc("2025-10-25T00:30"), end: utc("2025-10-25T00:30") };
  const between = nextDagRunInfo(noCatchup, {
    lastAutomatedDataInterval: before,
    now: utc("2025-10-26T00:45"),
  })!;
  assert.equal(iso(between.runAfter), "2025-10-26T01:30:00Z");
  const done = { start: between.runAfter, end: between.runAfter };
  const after = nextDagRunInfo(noCatchup, { lastAutomatedDataInterval: done, now: utc("2025-10-26T01:45") })!;
  assert.equal(iso(after.runAfter), "2025-10-27T01:30:00Z");
});

test("DST with an hourly cron: no run in the missing hour, a run in each copy of the repeated one", () => {
  const hourly = (startDate: string) =>
    dagOf({
      schedule: parseSchedule("@hourly", AMSTERDAM),
      timezone: AMSTERDAM,
      semantics: "trigger",
      startDate: utc(startDate),
    });
  assert.deepEqual(ticks(runs(hourly("2025-03-30T00:00"), 3)), [
    "2025-03-30T00:00:00Z", // 01:00 CET
    "2025-03-30T01:00:00Z", // 03:00 CEST; 02:00 does not exist
    "2025-03-30T02:00:00Z",
  ]);
  assert.deepEqual(ticks(runs(hourly("2025-10-25T23:00"), 4)), [
    "2025-10-25T23:00:00Z", // 01:00 CEST
    "2025-10-26T00:00:00Z", // 02:00 CEST
    "2025-10-26T01:00:00Z", // 02:00 CET
    "2025-10-26T02:00:00Z", // 03:00 CET
  ]);
});

test("manual runs: the latest complete interval (data intervals), the instant itself (trigger)", () => {
  const runAfter = utc("2025-06-15T10:00");
  const daily = at0230({});
  assert.deepEqual(inferManualDataInterval(daily, runAfter), {
    start: utc("2025-06-14T00:30"),
    end: utc("2025-06-15T00:30"),
  });
  const hourly = dagOf({ schedule: { kind: "interval", seconds: 3600 } });
  assert.deepEqual(inferManualDataInterval(hourly, runAfter), {
    start: utc("2025-06-15T09:00"),
    end: runAfter,
  });
  const trigger = at0230({ semantics: "trigger" });
  assert.deepEqual(inferManualDataInterval(trigger, runAfter), { start: runAfter, end: runAfter });
});

test("no startDate: data intervals wait for one; a cron trigger takes a tick that just passed or the next", () => {
  const hourly = parseSchedule("@hourly", "UTC");
  const none = { lastAutomatedDataInterval: null, now: utc("2025-01-01T10:03") };
  assert.equal(nextDagRunInfo(dagOf({ schedule: hourly, startDate: null }), none), null);
  const trigger = dagOf({ schedule: hourly, startDate: null, semantics: "trigger" });
  // Within a tenth of the gap (at least 5 minutes) of a tick, that tick runs now; later, the next one.
  assert.equal(iso(nextDagRunInfo(trigger, none)!.runAfter), "2025-01-01T10:00:00Z");
  const later = { lastAutomatedDataInterval: null, now: utc("2025-01-01T10:30") };
  assert.equal(iso(nextDagRunInfo(trigger, later)!.runAfter), "2025-01-01T11:00:00Z");
});

test("a cron that never fires has no next run", () => {
  const never = dagOf({ schedule: { kind: "cron", expression: "0 0 30 2 *", preset: null } });
  assert.equal(nextDagRunInfo(never, { lastAutomatedDataInterval: null, now: UNUSED_NOW }), null);
});

test("run ids: Airflow's <type>__<isoformat of the logical date in UTC>", () => {
  const newYear = utc("2025-01-01T00:00");
  assert.equal(runIdFor("scheduled", newYear), "scheduled__2025-01-01T00:00:00+00:00");
  assert.equal(runIdFor("manual", newYear), "manual__2025-01-01T00:00:00+00:00");
  assert.equal(runIdFor("backfill", newYear), "backfill__2025-01-01T00:00:00+00:00");
  assert.equal(runIdFor("asset_triggered", newYear), "asset_triggered__2025-01-01T00:00:00+00:00");
  // Python prints a fraction as 6 digits, and only when there is one.
  assert.equal(
    runIdFor("manual", utc("2024-03-10T07:00:00.123")),
    "manual__2024-03-10T07:00:00.123000+00:00",
  );
  assert.equal(
    runIdFor("manual", new Date("2025-07-01T06:30:00+02:00")),
    "manual__2025-07-01T04:30:00+00:00",
  );
  assert.throws(() => runIdFor("manual", new Date("nope")), /valid logical date/);
});

test("run ids of the worked example: @daily, the run covering 2024-01-15 (template-context reference)", () => {
  const daily = dagOf({ schedule: parseSchedule("@daily", "UTC"), startDate: utc("2024-01-01T00:00") });
  const last = { start: utc("2024-01-14T00:00"), end: utc("2024-01-15T00:00") };
  const a2 = nextDagRunInfo(daily, { lastAutomatedDataInterval: last, now: UNUSED_NOW })!;
  assert.equal(runIdFor("scheduled", a2.logicalDate), "scheduled__2024-01-15T00:00:00+00:00");
  assert.equal(iso(a2.runAfter), "2024-01-16T00:00:00Z");
  const tick = { start: utc("2024-01-15T00:00"), end: utc("2024-01-15T00:00") };
  const a3 = nextDagRunInfo(
    { ...daily, semantics: "trigger" },
    { lastAutomatedDataInterval: tick, now: UNUSED_NOW },
  )!;
  assert.equal(runIdFor("scheduled", a3.logicalDate), "scheduled__2024-01-16T00:00:00+00:00");
});

test("describeTimetable: the time and zone, the preset, or the interval", () => {
  const describe = (schedule: Schedule, timezone = "UTC") => describeTimetable({ schedule, timezone });
  const amsterdam = describe(parseSchedule("30 2 * * *", AMSTERDAM), AMSTERDAM);
  assert.equal(amsterdam, "every day at 02:30, Europe/Amsterdam");
  assert.equal(describe({ kind: "interval", seconds: 1800 }), "every 30 minutes");
  assert.equal(describe(null), "never (manual runs only)");
  // More cases in describe.test.ts.
});

test("timetableDagOf reads a serialized DAG; stored forms without scheduleSemantics mean data intervals", () => {
  const stored = SerializedDagSchema.parse({
    version: SERIALIZED_DAG_VERSION,
    dagId: "d",
    fileloc: "d.ts",
    description: null,
    docMd: null,
    schedule: { kind: "cron", expression: "0 0 * * *", preset: "@daily" },
    startDate: "2025-01-01T00:00:00.000Z",
    endDate: null,
    timezone: "UTC",
    catchup: false,
    maxActiveRuns: 16,
    maxActiveTasks: 16,
    dagrunTimeout: null,
    params: {},
    tags: [],
    owner: "o",
    isPausedUponCreation: null,
    tasks: [],
  });
  assert.deepEqual(timetableDagOf(stored), {
    schedule: { kind: "cron", expression: "0 0 * * *", preset: "@daily" },
    timezone: "UTC",
    startDate: utc("2025-01-01T00:00"),
    endDate: null,
    catchup: false,
    semantics: "data_interval",
  });
  assert.equal(timetableDagOf({ ...stored, scheduleSemantics: "trigger" }).semantics, "trigger");
});
