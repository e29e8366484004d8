/**
 * Data-interval semantics (Airflow's CronDataIntervalTimetable and DeltaDataIntervalTimetable):
 * a run covers [start, end) between two ticks, is created once `end` has passed, and its logical
 * date is `start`.
 */
import type { Clock } from "./clock.ts";
import type { DagRunInfo, DataInterval, TimetableDag } from "./types.ts";

export function nextDataInterval(
  clock: Clock,
  dag: TimetableDag,
  last: DataInterval | null,
  now: Date,
): DagRunInfo | null {
  const earliest = dag.catchup
    ? dag.startDate && clock.alignNext(dag.startDate)
    : skipToLatest(clock, now, dag.startDate);
  // alignPrev puts the first run after a schedule change back on the new grid.
  const start = last === null ? earliest : later(clock.alignPrev(last.end), earliest);
  if (start === null || (dag.endDate !== null && start > dag.endDate)) return null;
  return intervalRun({ start, end: clock.next(start) });
}

/**
 * Without catchup the first candidate is the latest complete interval before `now` (but never
 * before startDate). When `now` is exactly on a tick, that is the interval ending now. For a delta
 * that is [now - delta, now), as Airflow's docs and the doc vectors say; Airflow's code since 2.x
 * first rounds `now` down to a multiple of the delta since 1970, which those vectors contradict.
 */
function skipToLatest(clock: Clock, now: Date, startDate: Date | null): Date {
  const lastStart = clock.prev(now);
  const latest = clock.next(lastStart) > now ? clock.prev(lastStart) : lastStart;
  return startDate === null ? latest : later(latest, clock.alignNext(startDate));
}

/** A manual run covers the latest complete interval that ends at or before `runAfter`. */
export function manualDataInterval(clock: Clock, runAfter: Date): DataInterval {
  const end = clock.alignPrev(runAfter);
  return { start: clock.prev(end), end };
}

export function intervalRun({ start, end }: DataInterval): DagRunInfo {
  return { logicalDate: start, dataIntervalStart: start, dataIntervalEnd: end, runAfter: end };
}

function later(a: Date, b: Date | null): Date {
  return b !== null && b > a ? b : a;
}
