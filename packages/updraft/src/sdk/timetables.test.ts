/**
 * Timetable objects in dag({ schedule }): what each serializes to (schedule, semantics, timezone,
 * maxActiveRuns), the errors for what they cannot take, and the types that stop mistakes earlier.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { SerializeDefaults } from "./dag.ts";
import {
  continuousTimetable,
  cronDataIntervalTimetable,
  cronTriggerTimetable,
  dag,
  deltaDataIntervalTimetable,
  deltaTriggerTimetable,
  empty,
  isTimetable,
  multipleCronTriggerTimetable,
  type DagOptions,
} from "./index.ts";

function serialized(options: Partial<DagOptions>, defaults: Partial<SerializeDefaults> = {}) {
  return dag({ dagId: "tt", ...options }, () => {
    empty("only");
  }).serialize({ fileloc: "tt.ts", defaults });
}

const scheduleOf = (schedule: DagOptions["schedule"], options: Partial<DagOptions> = {}) => {
  const s = serialized({ schedule, ...options });
  return { schedule: s.schedule, semantics: s.scheduleSemantics };
};

function rejects(options: Partial<DagOptions>, start: string, ...mentions: string[]): void {
  assert.throws(
    () => serialized(options),
    (error: Error) => {
      assert.equal(error.name, "DagDefinitionError");
      assert.ok(error.message.startsWith(start), `"${error.message}" should start with "${start}"`);
      for (const m of mentions)
        assert.ok(error.message.includes(m), `"${error.message}" should mention ${m}`);
      return true;
    },
  );
}

test("cronTriggerTimetable: a run at each tick, whatever the configuration says; an interval needs the cron_trigger form", () => {
  const config = { createCronDataIntervals: true };
  const plain = serialized({ schedule: cronTriggerTimetable("0 3 * * *") }, config);
  assert.deepEqual(plain.schedule, { kind: "cron", expression: "0 3 * * *", preset: null });
  assert.equal(plain.scheduleSemantics, "trigger");
  assert.deepEqual(scheduleOf(cronTriggerTimetable("@daily", { interval: "1d" })), {
    schedule: { kind: "cron_trigger", expressions: ["@daily"], interval: 86400 },
    semantics: "trigger",
  });
  assert.deepEqual(scheduleOf(cronTriggerTimetable("0 18 * * 5", { interval: "4d9h" })).schedule, {
    kind: "cron_trigger",
    expressions: ["0 18 * * 5"],
    interval: 4 * 86400 + 9 * 3600,
  });
});

test("multipleCronTriggerTimetable: the crons as written, duplicates dropped, the interval; its timezone becomes the DAG's", () => {
  const s = serialized({
    schedule: multipleCronTriggerTimetable(["0 3 * * *", " 30 15 * * 1-5", "0 3 * * *"], {
      timezone: "Europe/Amsterdam",
      interval: "30m",
    }),
    startDate: "2025-01-01",
  });
  assert.deepEqual(s.schedule, {
    kind: "cron_trigger",
    expressions: ["0 3 * * *", "30 15 * * 1-5"],
    interval: 1800,
  });
  assert.equal(s.scheduleSemantics, "trigger");
  assert.equal(s.timezone, "Europe/Amsterdam");
  assert.equal(s.startDate, "2024-12-31T23:00:00.000Z", "startDate read in the timetable's zone");
  const same = { schedule: multipleCronTriggerTimetable(["@daily"], { timezone: "UTC" }), timezone: "UTC" };
  assert.equal(serialized(same).timezone, "UTC", "naming the same zone twice is fine");
});

test("cronDataIntervalTimetable: data intervals even where configuration says trigger", () => {
  assert.deepEqual(scheduleOf(cronDataIntervalTimetable("@daily")), {
    schedule: { kind: "cron", expression: "0 0 * * *", preset: "@daily" },
    semantics: "data_interval",
  });
});

test("delta timetables and { every }: a plain step, or with an anchor (read in the DAG's zone) or an interval", () => {
  assert.deepEqual(scheduleOf(deltaDataIntervalTimetable("30m")), {
    schedule: { kind: "interval", seconds: 1800 },
    semantics: "data_interval",
  });
  assert.deepEqual(scheduleOf(deltaTriggerTimetable(3600)), {
    schedule: { kind: "interval", seconds: 3600 },
    semantics: "trigger",
  });
  const anchored = deltaTriggerTimetable("6h", { anchor: "2025-01-01T03:00", interval: "6h" });
  assert.deepEqual(scheduleOf(anchored, { timezone: "Europe/Amsterdam" }), {
    schedule: { kind: "delta", seconds: 21600, anchor: "2025-01-01T02:00:00.000Z", interval: 21600 },
    semantics: "trigger",
  });
  // { every, anchor }: the anchor is kept (it used to be dropped without a word); semantics from configuration.
  const every = serialized(
    { schedule: { every: "6h", anchor: "2025-01-01T03:00:00Z" } },
    { createDeltaDataIntervals: true },
  );
  assert.deepEqual(every.schedule, {
    kind: "delta",
    seconds: 21600,
    anchor: "2025-01-01T03:00:00.000Z",
    interval: 0,
  });
  assert.equal(every.scheduleSemantics, "data_interval");
  assert.deepEqual(
    scheduleOf(deltaDataIntervalTimetable("1d", { anchor: new Date("2025-01-01T05:00:00Z") })).schedule,
    { kind: "delta", seconds: 86400, anchor: "2025-01-01T05:00:00.000Z", interval: 0 },
  );
});

test("@continuous and continuousTimetable(): one run at a time, whatever the configured default", () => {
  for (const schedule of ["@continuous", continuousTimetable()]) {
    const s = serialized({ schedule }, { maxActiveRuns: 16 });
    assert.deepEqual(s.schedule, { kind: "continuous" });
    assert.equal(s.maxActiveRuns, 1);
  }
  assert.equal(serialized({ schedule: "@continuous", maxActiveRuns: 1 }).maxActiveRuns, 1);
  assert.equal(serialized({ schedule: "@daily" }, { maxActiveRuns: 16 }).maxActiveRuns, 16);
});

test("timetables are recognisable across copies of the SDK, and frozen", () => {
  const t = cronTriggerTimetable("0 3 * * *");
  assert.ok(isTimetable(t));
  assert.equal(t.timetable, "CronTriggerTimetable");
  assert.ok(Object.isFrozen(t));
  assert.ok(isTimetable({ [Symbol.for("updraft.timetable")]: true }));
  assert.ok(!isTimetable({ timetable: "CronTriggerTimetable" }));
});

test("errors name the DAG, the timetable and what to write", () => {
  rejects(
    { schedule: "@continuous", maxActiveRuns: 4 },
    'dag "tt": schedule "@continuous" starts a run once the previous one has ended, so maxActiveRuns must be 1, got 4',
    "leave maxActiveRuns out",
  );
  rejects(
    { schedule: continuousTimetable(), maxActiveRuns: 2 },
    'dag "tt": schedule "@continuous"',
    "maxActiveRuns must be 1",
  );
  rejects(
    { schedule: cronTriggerTimetable("0 3 * * *", { timezone: "Asia/Tokyo" }), timezone: "UTC" },
    'dag "tt": timezone "UTC" and the schedule\'s timezone "Asia/Tokyo" differ',
  );
  rejects(
    { schedule: multipleCronTriggerTimetable(["0 3 * * *", "61 * * * *"]) },
    'dag "tt": schedule multipleCronTriggerTimetable(): "61 * * * *" is not a valid cron expression',
  );
  rejects(
    { schedule: multipleCronTriggerTimetable([]) },
    'dag "tt": schedule multipleCronTriggerTimetable() takes cron expressions, got []',
    '["0 3 * * *", "30 15 * * 1-5"]',
  );
  rejects(
    { schedule: cronTriggerTimetable("@once") },
    'dag "tt": schedule cronTriggerTimetable(): "@once" is not a cron: write schedule: "@once" instead',
  );
  rejects(
    { schedule: cronTriggerTimetable("@fortnightly") },
    'dag "tt": schedule cronTriggerTimetable(): unknown schedule preset "@fortnightly"',
  );
  rejects(
    { schedule: cronTriggerTimetable("0 3 * * *", { intervall: "1h" } as never) },
    'dag "tt": schedule cronTriggerTimetable() options has an unknown option "intervall": did you mean "interval"?',
  );
  rejects(
    { schedule: cronDataIntervalTimetable("@daily", { interval: "1d" } as never) },
    'dag "tt": schedule cronDataIntervalTimetable() options has an unknown option "interval"',
    "valid options: timezone",
  );
  rejects(
    { schedule: cronTriggerTimetable("0 3 * * *", { interval: "soon" }) },
    'dag "tt": schedule cronTriggerTimetable() interval "soon" is not a duration',
  );
  rejects(
    { schedule: cronTriggerTimetable("0 3 * * *", { timezone: "Mars/Olympus" }) },
    'dag "tt": schedule cronTriggerTimetable() timezone "Mars/Olympus" is not an IANA time zone',
  );
  rejects(
    { schedule: deltaTriggerTimetable(0) },
    'dag "tt": schedule deltaTriggerTimetable() step must be longer than 0s',
  );
  rejects(
    { schedule: deltaDataIntervalTimetable("1h", { anchor: "noon" }) },
    'dag "tt": schedule deltaDataIntervalTimetable() anchor "noon" is not a date',
  );
  rejects(
    { schedule: { every: "1h", anchr: "2025-01-01" } as never },
    'dag "tt": schedule { every } has an unknown option "anchr": did you mean "anchor"?',
  );
  rejects({ schedule: { every: "1h", anchor: "soon" } }, 'dag "tt": schedule anchor "soon" is not a date');
  rejects(
    { schedule: ["0 3 * * *"] as never },
    'dag "tt": schedule ["0 3 * * *"] is not a schedule',
    "multipleCronTriggerTimetable",
  );
});

test("the types: each timetable takes only its own options", () => {
  // Compiled by `npm run typecheck`; at run time these only build timetables (nothing checks them yet).
  // @ts-expect-error cronDataIntervalTimetable has no interval: its interval is the gap between ticks
  cronDataIntervalTimetable("@daily", { interval: "1d" });
  // @ts-expect-error a data-interval step has no interval either
  deltaDataIntervalTimetable("1h", { interval: "1h" });
  // @ts-expect-error crons come as an array
  multipleCronTriggerTimetable("0 3 * * *", "30 15 * * *");
  // @ts-expect-error a cron trigger has no anchor: its ticks are the cron's
  cronTriggerTimetable("0 3 * * *", { anchor: "2025-01-01" });
  const fine: DagOptions["schedule"][] = [
    "@daily",
    { every: "1h", anchor: new Date() },
    deltaTriggerTimetable("1h", { interval: "30m", anchor: "2025-01-01T00:30" }),
    null,
  ];
  assert.equal(fine.length, 4);
});
