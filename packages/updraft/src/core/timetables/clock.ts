/**
 * A clock is the grid of ticks a schedule defines: cron times in a zone, or fixed steps. The
 * timetables (data-interval.ts, trigger.ts) are written against this interface only, as Airflow's
 * are against CronMixin and DeltaMixin.
 */
import { Cron } from "croner";
import type { IANAZone } from "luxon";
import { fromWallClock, toWallClock, zoneOf } from "./local-time.ts";

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

const DAY_MS = 86_400_000;

/** Steps of a fixed length (Airflow's timedelta schedules): no grid, so alignment changes nothing. */
export function deltaClock(seconds: number): Clock {
  const ms = seconds * 1000;
  return {
    next: (t) => new Date(t.getTime() + ms),
    prev: (t) => new Date(t.getTime() - ms),
    alignNext: (t) => t,
    alignPrev: (t) => t,
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
  const naive = toWallClock(t, zone);
  const tick = direction === 1 ? cron.nextRun(naive) : cron.previousRuns(1, naive)[0];
  if (!tick) {
    const side = direction === 1 ? "after" : "before";
    throw new NeverFiresError(`cron "${cron.getPattern()}" has no tick ${side} ${t.toISOString()}`);
  }
  const gap = Math.abs(tick.getTime() - naive.getTime());
  // Airflow's fold-hour fix: a schedule that runs every hour steps in absolute time, so it also runs
  // in a repeated hour. Pendulum adds a sub-day step in absolute time and a longer one on the wall
  // clock, hence the day limit.
  if (everyHour && gap < DAY_MS) return new Date(t.getTime() + direction * gap);
  return fromWallClock(tick, zone);
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
