import { test } from "node:test";
import assert from "node:assert/strict";
import { cronClock, coversEveryHour, deltaClock } from "./clock.ts";
import { fromWallClock, toWallClock, zoneOf } from "./local-time.ts";

const utc = (text: string) => new Date(`${text}Z`);
const zurich = zoneOf("Europe/Zurich");

test("toWallClock gives the local fields of an instant as a naive time", () => {
  assert.deepEqual(toWallClock(utc("2023-07-01T10:00"), zurich), utc("2023-07-01T12:00"));
  assert.deepEqual(toWallClock(utc("2023-01-01T10:00"), zurich), utc("2023-01-01T11:00"));
});

test("fromWallClock: a skipped time moves forward by the gap, a repeated time takes its second occurrence", () => {
  assert.deepEqual(fromWallClock(utc("2023-03-26T02:30"), zurich), utc("2023-03-26T01:30")); // 03:30 CEST
  assert.deepEqual(fromWallClock(utc("2023-10-29T02:30"), zurich), utc("2023-10-29T01:30")); // 02:30 CET
  assert.deepEqual(fromWallClock(utc("2023-10-29T03:30"), zurich), utc("2023-10-29T02:30"));
  assert.deepEqual(fromWallClock(utc("2023-03-26T01:59"), zurich), utc("2023-03-26T00:59"));
});

test("zoneOf rejects a zone that is not IANA", () => {
  assert.throws(() => zoneOf("Mars/Olympus"), /not an IANA time zone/);
});

test("cron ticks are strict; alignment keeps a time on the grid", () => {
  const clock = cronClock("0 * * * *", "UTC");
  const t = utc("2025-01-01T10:00");
  assert.deepEqual(clock.next(t), utc("2025-01-01T11:00"));
  assert.deepEqual(clock.prev(t), utc("2025-01-01T09:00"));
  assert.deepEqual(clock.alignNext(t), t);
  assert.deepEqual(clock.alignPrev(t), t);
  assert.deepEqual(clock.alignNext(utc("2025-01-01T10:00:00.001")), utc("2025-01-01T11:00"));
  assert.deepEqual(clock.alignPrev(utc("2025-01-01T10:59:59.999")), t);
});

test("delta clocks step in absolute time and have no grid", () => {
  const clock = deltaClock(90);
  const t = utc("2025-01-01T10:00:15");
  assert.deepEqual(clock.next(t), utc("2025-01-01T10:01:45"));
  assert.deepEqual(clock.prev(t), utc("2025-01-01T09:58:45"));
  assert.equal(clock.alignNext(t), t);
  assert.equal(clock.alignPrev(t), t);
});

test("coversEveryHour: what croniter normalises to '*' in the hour field", () => {
  for (const e of ["0 * * * *", "*/30 */1 * * *", "0 0-23 * * *", "0 0-11,12-23 * * *", "0 0/1 * * *"])
    assert.equal(coversEveryHour(e), true, e);
  for (const e of ["0 */2 * * *", "0 7-8 * * *", "0 1 * * *", "0 0-22 * * *", "0 H * * *"])
    assert.equal(coversEveryHour(e), false, e);
});
