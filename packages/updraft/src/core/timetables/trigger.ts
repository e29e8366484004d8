/**
 * Trigger semantics (Airflow 3's CronTriggerTimetable and DeltaTriggerTimetable, with their default
 * interval of zero): a run at each tick, whose logical date, data interval start and end are all
 * the tick.
 */
import type { Clock } from "./clock.ts";
import { intervalRun } from "./data-interval.ts";
import type { DagRunInfo, DataInterval, TimetableDag } from "./types.ts";

const MINUTE_MS = 60_000;

/** `firstRun` picks the first tick when there is neither a previous run nor a startDate. */
export function nextTrigger(
  clock: Clock,
  dag: TimetableDag,
  last: DataInterval | null,
  now: Date,
  firstRun: (now: Date) => Date,
): DagRunInfo | null {
  const afterLast = last && clock.next(last.end);
  const fromStart = dag.startDate && clock.alignNext(dag.startDate);
  const tick = dag.catchup
    ? (afterLast ?? fromStart ?? firstRun(now))
    : latestOf([clock.alignPrev(now), afterLast ?? (fromStart === null ? firstRun(now) : null), fromStart]);
  if (dag.endDate !== null && tick > dag.endDate) return null;
  return intervalRun({ start: tick, end: tick });
}

/**
 * CronTriggerTimetable's default (run_immediately=False) for a DAG without startDate: the tick
 * that just passed if it was within a tenth of the gap between ticks (at least 5 minutes), else
 * the next one.
 */
export function cronFirstRun(clock: Clock): (now: Date) => Date {
  return (now) => {
    const past = clock.alignPrev(now);
    const next = clock.alignNext(now);
    const buffer = Math.max((next.getTime() - past.getTime()) / 10, 5 * MINUTE_MS);
    return now.getTime() - past.getTime() <= buffer ? past : next;
  };
}

/** DeltaTriggerTimetable's: now, since a delta has no grid to wait for. */
export function deltaFirstRun(now: Date): Date {
  return now;
}

export function manualTrigger(runAfter: Date): DataInterval {
  return { start: runAfter, end: runAfter };
}

function latestOf(dates: (Date | null)[]): Date {
  return new Date(Math.max(...dates.filter((d) => d !== null).map((d) => d.getTime())));
}
