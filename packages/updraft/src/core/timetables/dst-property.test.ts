/**
 * Cron ticks across DST changes, as a property over zones and years: around every transition each
 * tick's successor is strictly later, its predecessor is the tick before it (no tick skipped, no
 * empty interval), any time between two ticks has them as its neighbours, and each tick is the cron's
 * time on the local clock (or the first instant after a gap that swallowed it). Zones with 60- and
 * 30-minute shifts (Australia/Lord_Howe), both hemispheres.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Cron } from "croner";
import { IANAZone } from "luxon";
import { cronClock } from "./clock.ts";
import { toWallClock } from "./local-time.ts";

const ZONES = [
  "America/New_York",
  "Australia/Lord_Howe",
  "Europe/Zurich",
  "Pacific/Chatham",
  "America/Santiago",
];
const CRONS = [
  "30 2 * * *",
  "0 * * * *",
  "*/30 * * * *",
  "15 1 * * *",
  "0,30 2-3 * * *",
  "45 2 * * 0",
  "50 1 * * *",
];
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function transitions(zone: IANAZone, fromYear: number, toYear: number): number[] {
  const out: number[] = [];
  for (let t = Date.UTC(fromYear, 0, 1); t < Date.UTC(toYear, 0, 1); t += HOUR / 2)
    if (zone.offset(t) !== zone.offset(t + HOUR / 2)) out.push(t);
  return out;
}

/** Whether the wall clock at `instant` is a time the cron names, or just after a gap that skipped one. */
function onTheCron(cron: Cron, instant: number, zone: IANAZone): boolean {
  const wall = toWallClock(new Date(instant), zone);
  const minuteBefore = new Date(wall.getTime() - 60_000);
  if (cron.nextRun(minuteBefore)?.getTime() === wall.getTime()) return true;
  // Moved forward by a gap in the hours before it: the cron's time is the one the gap swallowed.
  const jump = (zone.offset(instant) - zone.offset(instant - 3 * HOUR)) * 60_000;
  const swallowed = wall.getTime() - jump;
  return jump > 0 && cron.nextRun(new Date(swallowed - 60_000))?.getTime() === swallowed;
}

for (const name of ZONES) {
  test(`cron ticks around every DST change of ${name}, 2024-2026`, () => {
    const zone = IANAZone.create(name);
    const changes = transitions(zone, 2024, 2027);
    assert.ok(changes.length >= 6, `${name} changes its offset twice a year`);
    for (const expression of CRONS) {
      const clock = cronClock(expression, name);
      const cron = new Cron(expression, { timezone: "UTC" });
      for (const change of changes) {
        let tick = clock.next(new Date(change - 2 * DAY));
        while (tick.getTime() < change + 2 * DAY) {
          const label = `${expression} in ${name} at ${tick.toISOString()}`;
          assert.ok(onTheCron(cron, tick.getTime(), zone), `${label}: not the cron's local time`);
          const next = clock.next(tick);
          assert.ok(next > tick, `${label}: the next tick ${next.toISOString()} is not later`);
          assert.equal(clock.prev(next).getTime(), tick.getTime(), `${label}: a tick was skipped`);
          const between = new Date((tick.getTime() + next.getTime()) / 2);
          assert.equal(clock.prev(between).getTime(), tick.getTime(), `${label}: prev of a time between`);
          assert.equal(clock.next(between).getTime(), next.getTime(), `${label}: next of a time between`);
          tick = next;
        }
      }
    }
  });
}
