/**
 * Trigger semantics (Airflow 3's CronTriggerTimetable, MultipleCronTriggerTimetable and
 * DeltaTriggerTimetable): a run at each tick. Its data interval ends at the tick and reaches back
 * `interval` (default zero, so logical date, interval start and end are all the tick); as in
 * Airflow, the logical date is the interval's start and the run is created at the tick.
 */
import { unlessNeverFires, type Clock } from "./clock.ts";
import { intervalRun } from "./data-interval.ts";
import type { DagRunInfo, DataInterval, TimetableDag } from "./types.ts";

const MINUTE_MS = 60_000;

/** One trigger timetable: its ticks, where it starts without history, and its interval. */
export interface Trigger {
  clock: Clock;
  /** The first tick when there is neither a previous run nor a startDate. */
  firstRun: (now: Date) => Date;
  /** Milliseconds the data interval reaches back from the tick. */
  intervalMs: number;
}

export function nextTrigger(
  trigger: Trigger,
  dag: TimetableDag,
  last: DataInterval | null,
  now: Date,
): DagRunInfo | null {
  const { clock, firstRun } = trigger;
  const afterLast = last && clock.next(last.end);
  const fromStart = dag.startDate && clock.alignNext(dag.startDate);
  const tick = dag.catchup
    ? (afterLast ?? fromStart ?? firstRun(now))
    : latestOf([clock.alignPrev(now), afterLast ?? (fromStart === null ? firstRun(now) : null), fromStart]);
  if (dag.endDate !== null && tick > dag.endDate) return null;
  return intervalRun({ start: new Date(tick.getTime() - trigger.intervalMs), end: tick });
}

/**
 * MultipleCronTriggerTimetable: each cron proposes its next run and one is taken, so two crons
 * ticking at once make one run. With catchup the earliest; without, the latest one already due
 * (skipping what was missed), else the earliest to come. A cron that never fires proposes nothing.
 */
export function nextOfTriggers(
  triggers: Trigger[],
  dag: TimetableDag,
  last: DataInterval | null,
  now: Date,
): DagRunInfo | null {
  const key = (at: Date) => (dag.catchup || at > now ? at.getTime() : -at.getTime());
  let best: DagRunInfo | null = null;
  for (const trigger of triggers) {
    const info = unlessNeverFires(() => nextTrigger(trigger, dag, last, now));
    if (info && (best === null || key(info.logicalDate) < key(best.logicalDate))) best = info;
  }
  return best;
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

/**
 * DeltaTriggerTimetable's: the latest tick at or before now, which is now itself for a delta
 * without an anchor (it has no grid to wait for).
 */
export function deltaFirstRun(clock: Clock): (now: Date) => Date {
  return (now) => clock.alignPrev(now);
}

/** A manual run of a trigger timetable covers `intervalMs` up to the moment it is for. */
export function manualTrigger(runAfter: Date, intervalMs = 0): DataInterval {
  return { start: new Date(runAfter.getTime() - intervalMs), end: runAfter };
}

function latestOf(dates: (Date | null)[]): Date {
  return new Date(Math.max(...dates.filter((d) => d !== null).map((d) => d.getTime())));
}
