/**
 * A clock is the grid of ticks a schedule defines: cron times in a zone, or fixed steps. The
 * timetables (data-interval.ts, trigger.ts) are written against this interface only, as Airflow's
 * are against CronMixin and DeltaMixin.
 */
import { Cron } from "croner";
import type { IANAZone } from "luxon";
import { fromWallClock, wallClockInstants, zoneOf } from "./local-time.ts";

export interface Clock {
  /** The first tick strictly after `t`. */
  next(t: Date): Date;
  /** The last tick strictly before `t`. */
  prev(t: Date): Date;
  /** `t` if it is a tick, else the next tick. */
  alignNext(t: Date): Date;
  /** `t` if it is a tick, else the previous tick. */
  alignPrev(t: Date): Date;
}

/** Thrown when a cron expression has no tick in the direction asked (e.g. "0 0 30 2 *"). */
export class NeverFiresError extends Error {}

/** `compute()`, or null when it runs into a cron that never fires. */
export function unlessNeverFires<T>(compute: () => T): T | null {
  try {
    return compute();
  } catch (error) {
    if (error instanceof NeverFiresError) return null;
    throw error;
  }
}

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;

/**
 * Steps of a fixed length (Airflow's timedelta schedules). Without an anchor there is no grid, so
 * alignment changes nothing and each step counts from the last run (or startDate, or now). With
 * one, the ticks are anchor + k * step for every whole k, before the anchor too, like a cron's.
 */
export function deltaClock(seconds: number, anchor: Date | null = null): Clock {
  const ms = seconds * 1000;
  if (anchor === null) {
    return {
      next: (t) => new Date(t.getTime() + ms),
      prev: (t) => new Date(t.getTime() - ms),
      alignNext: (t) => t,
      alignPrev: (t) => t,
    };
  }
  const origin = anchor.getTime();
  // Whole milliseconds, so that a tick's step count divides out exactly.
  const step = Math.max(1, Math.round(ms));
  const tick = (k: number) => new Date(origin + k * step);
  // Steps from the anchor to t, as a fraction; whole numbers are ticks.
  const steps = (t: Date) => (t.getTime() - origin) / step;
  return {
    next: (t) => tick(Math.floor(steps(t)) + 1),
    prev: (t) => tick(Math.ceil(steps(t)) - 1),
    alignNext: (t) => tick(Math.ceil(steps(t))),
    alignPrev: (t) => tick(Math.floor(steps(t))),
  };
}

/**
 * Cron ticks in `timezone`. Croner runs on naive wall-clock times (in UTC, so it applies no DST
 * rules of its own) and local-time.ts turns them into instants, mirroring Airflow's croniter +
 * pendulum; croner's own timezone mode resolves repeated hours differently from Airflow.
 */
export function cronClock(expression: string, timezone: string): Clock {
  const zone = zoneOf(timezone);
  const cron = compile(expression);
  const everyHour = coversEveryHour(expression);
  const next = (t: Date) => step(t, 1, cron, zone, everyHour);
  const prev = (t: Date) => step(t, -1, cron, zone, everyHour);
  return {
    next,
    prev,
    alignNext: (t) => {
      const tick = next(t);
      return prev(tick).getTime() === t.getTime() ? t : tick;
    },
    alignPrev: (t) => {
      const tick = prev(t);
      return next(tick).getTime() === t.getTime() ? t : tick;
    },
  };
}

function step(t: Date, direction: 1 | -1, cron: Cron, zone: IANAZone, everyHour: boolean): Date {
  // Airflow's fold-hour fix: a schedule that runs every hour also runs in a repeated hour, so each
  // wall-clock tick in it names both its instants; otherwise the later one (pendulum's choice).
  const instants = everyHour
    ? (n: Date) => wallClockInstants(n, zone)
    : (n: Date) => [fromWallClock(n, zone).getTime()];
  return direction === 1 ? firstTickAfter(t, cron, zone, instants) : lastTickBefore(t, cron, zone, instants);
}

type Instants = (naive: Date) => number[];

/**
 * A wall-clock tick names the instant(s) `instants` gives it, and near a DST change those are not
 * in wall-clock order: a tick in a gap moves forward past later wall-clock ticks, and one in a
 * repeated hour lands in its second pass (or both). So the first tick after `t` is the earliest
 * instant among the wall-clock ticks that could land after `t`, not merely the next wall-clock tick;
 * and the same backwards. Far from a change that is one or two ticks; near one, a few more. It is
 * never `t` itself: two wall-clock ticks that land on one instant make one run, not an empty interval.
 */
function firstTickAfter(t: Date, cron: Cron, zone: IANAZone, instants: Instants): Date {
  const at = t.getTime();
  // A tick lands after `t` only if its wall-clock time is past `t` + the smallest offset around.
  const from = new Date(at + offsetsNear(zone, at).min * MINUTE_MS - 1);
  let best = Infinity;
  for (let n = cron.nextRun(from); n; n = cron.nextRun(n)) {
    for (const instant of instants(n)) if (instant > at) best = Math.min(best, instant);
    // Later wall-clock ticks land at or after n - (the largest offset around n): past `best`, stop.
    if (n.getTime() - offsetsNear(zone, n.getTime()).max * MINUTE_MS >= best) break;
  }
  if (best === Infinity) throw neverFires(cron, t, 1);
  return new Date(best);
}

function lastTickBefore(t: Date, cron: Cron, zone: IANAZone, instants: Instants): Date {
  const at = t.getTime();
  // A tick lands before `t` only if its wall-clock time is before `t` + the largest offset around.
  const until = new Date(at + offsetsNear(zone, at).max * MINUTE_MS + 1);
  let best = -Infinity;
  for (let n = cron.previousRuns(1, until)[0]; n; n = cron.previousRuns(1, n)[0]) {
    for (const instant of instants(n)) if (instant < at) best = Math.max(best, instant);
    if (n.getTime() - offsetsNear(zone, n.getTime()).min * MINUTE_MS <= best) break;
  }
  if (best === -Infinity) throw neverFires(cron, t, -1);
  return new Date(best);
}

/** The zone's smallest and largest UTC offset (minutes) within a day of `ms`. */
function offsetsNear(zone: IANAZone, ms: number): { min: number; max: number } {
  const offsets = [zone.offset(ms - DAY_MS), zone.offset(ms), zone.offset(ms + DAY_MS)];
  return { min: Math.min(...offsets), max: Math.max(...offsets) };
}

function neverFires(cron: Cron, t: Date, direction: 1 | -1): NeverFiresError {
  const side = direction === 1 ? "after" : "before";
  return new NeverFiresError(`cron "${cron.getPattern()}" has no tick ${side} ${t.toISOString()}`);
}

/** Parsed patterns, by expression: one per distinct schedule, so it stays small. */
const compiled = new Map<string, Cron>();

function compile(expression: string): Cron {
  let cron = compiled.get(expression);
  if (!cron) {
    // No callback, so croner schedules nothing; it only computes.
    cron = new Cron(expression, { timezone: "UTC" });
    compiled.set(expression, cron);
  }
  return cron;
}

/** Whether the hour field matches all 24 hours (croniter normalises that to "*", which Airflow checks). */
export function coversEveryHour(expression: string): boolean {
  const hourField = expression.trim().split(/\s+/)[1] ?? "";
  const hours = new Set<number>();
  for (const part of hourField.split(",")) {
    const match = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
    if (!match) return false;
    const from = match[2] === undefined ? 0 : Number(match[2]);
    const to = match[3] !== undefined ? Number(match[3]) : match[2] === undefined || match[4] ? 23 : from;
    for (let h = from; h <= to; h += Number(match[4] ?? 1)) hours.add(h);
  }
  return hours.size === 24;
}
