/** The schedule in words (Airflow's timetable_description): crons, presets, steps, timetables. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { describeSchedule, parseSchedule, type Schedule } from "../schedule.ts";
import { describeCron, describeSummary, describeTimetable } from "./describe.ts";

const words = (input: string | { every: string } | null, timezone = "UTC") =>
  describeTimetable({ schedule: parseSchedule(input, timezone), timezone });

test("crons and presets: cronstrue's words on a 24-hour clock, lower-cased, with the zone", () => {
  const cases: [string, string, string][] = [
    ["30 2 * * *", "Europe/Amsterdam", "every day at 02:30, Europe/Amsterdam"],
    ["@daily", "UTC", "every day at 00:00, UTC"],
    ["@midnight", "America/New_York", "every day at 00:00, America/New_York"],
    ["0 18 * * *", "UTC", "every day at 18:00, UTC"],
    ["30 2 * * 1-5", "UTC", "at 02:30, Monday through Friday, UTC"],
    ["0 6 * * 1,3", "UTC", "at 06:00, on Monday and Wednesday, UTC"],
    ["0 6 1 * *", "UTC", "at 06:00, on day 1 of the month, UTC"],
    ["0 */6 * * 1-5", "UTC", "every 6 hours, on the hour, Monday through Friday, UTC"],
    ["0 7-8 * * *", "UTC", "every hour, between 07:00 and 08:00, UTC"],
    ["@weekly", "UTC", "at 00:00, on Sunday, UTC"],
    ["@monthly", "Asia/Tokyo", "at 00:00, on day 1 of the month, Asia/Tokyo"],
    ["@yearly", "UTC", "at 00:00, on day 1 of the month, in January, UTC"],
  ];
  for (const [cron, timezone, expected] of cases) assert.equal(words(cron, timezone), expected, cron);
});

test("the zone is shown by its IANA name, the same in winter and summer (no CET/CEST, no offset)", () => {
  for (const timezone of ["Europe/Amsterdam", "America/New_York", "Australia/Sydney"]) {
    const text = words("30 2 * * *", timezone);
    assert.equal(text, `every day at 02:30, ${timezone}`);
    assert.doesNotMatch(text, /[+-]\d\d:?\d\d|CES?T|E[DS]T|AES?T/);
  }
});

test("minute-only crons leave the zone out unless its offset is not whole hours", () => {
  assert.equal(words("@hourly"), "every hour");
  assert.equal(words("@hourly", "Europe/Amsterdam"), "every hour");
  assert.equal(words("*/15 * * * *", "America/New_York"), "every 15 minutes");
  assert.equal(words("15 * * * *"), "at 15 minutes past the hour");
  // India is UTC+05:30: its "on the hour" is half past in most other zones.
  assert.equal(words("@hourly", "Asia/Kolkata"), "every hour, Asia/Kolkata");
});

test("steps, manual, @once, @continuous", () => {
  assert.equal(words({ every: "1d" }), "every 1 day");
  assert.equal(words({ every: "90m" }), "every 1 hour 30 minutes");
  assert.equal(words({ every: "25h1m1s" }), "every 1 day 1 hour 1 minute 1 second");
  assert.equal(words(null), "never (manual runs only)");
  assert.equal(words("@once"), "once, as soon as possible");
  assert.equal(words("@continuous"), "continuously: a new run as soon as the last one ends");
});

test("timetables: several crons, anchored steps (DeltaTrigger/DeltaDataInterval)", () => {
  const multiple: Schedule = {
    kind: "cron_trigger",
    expressions: ["0 3 * * *", "30 15 * * 1-5"],
    interval: 0,
  };
  assert.equal(
    describeTimetable({ schedule: multiple, timezone: "Europe/Amsterdam" }),
    "every day at 03:00; and at 15:30, Monday through Friday, Europe/Amsterdam",
  );
  const anchored: Schedule = {
    kind: "delta",
    seconds: 6 * 3600,
    anchor: "2025-01-01T03:00:00.000Z",
    interval: 0,
  };
  assert.equal(
    describeTimetable({ schedule: anchored, timezone: "UTC" }),
    "every 6 hours, counted from 2025-01-01T03:00:00Z",
  );
  const unanchored: Schedule = { kind: "delta", seconds: 1800, anchor: null, interval: 600 };
  assert.equal(describeTimetable({ schedule: unanchored, timezone: "UTC" }), "every 30 minutes");
});

test("describeSummary reads the DAG row's summary back to the same words", () => {
  for (const input of ["30 2 * * *", "@daily", "@hourly", "0 */6 * * 1-5", "@once", "@continuous", null]) {
    const schedule = parseSchedule(input, "Europe/Amsterdam");
    const direct = describeTimetable({ schedule, timezone: "Europe/Amsterdam" });
    assert.equal(describeSummary(describeSchedule(schedule), "Europe/Amsterdam"), direct, String(input));
  }
  assert.equal(describeSummary("every 86400s", "UTC"), "every 1 day");
  assert.equal(describeSummary("not, a cron", "UTC"), "not, a cron", "unreadable: shown as stored");
});

test("describeCron: null for what it cannot read", () => {
  assert.equal(describeCron("0 0 * *"), null);
  assert.equal(describeCron("99 0 * * *"), null);
  assert.equal(describeCron("0 0 * * *"), "every day at 00:00");
});
