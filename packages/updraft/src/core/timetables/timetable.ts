/**
 * The entry points: which timetable a DAG's schedule and semantics select (as Airflow maps a
 * schedule to a Timetable class), and the conversion from the serialized DAG.
 */
import type { SerializedDag } from "../serialized.ts";
import { cronClock, deltaClock, NeverFiresError, type Clock } from "./clock.ts";
import { intervalRun, manualDataInterval, nextDataInterval } from "./data-interval.ts";
import { cronFirstRun, deltaFirstRun, manualTrigger, nextTrigger } from "./trigger.ts";
import type { DagRunInfo, DataInterval, LastRun, TimetableDag } from "./types.ts";

/**
 * The next run the scheduler should create, or null when there is none: manual-only schedule,
 * @once already run, past endDate, or a cron that never fires again. Create it once `runAfter`
 * has passed; call again with its interval as `lastAutomatedDataInterval` for the one after.
 */
export function nextDagRunInfo(dag: TimetableDag, last: LastRun): DagRunInfo | null {
  const { schedule } = dag;
  const previous = last.lastAutomatedDataInterval;
  if (schedule === null) return null;
  if (schedule.kind === "once") return nextOnce(dag, previous);
  const clock = clockOf(dag);
  try {
    if (dag.semantics === "data_interval") return nextDataInterval(clock, dag, previous, last.now);
    const firstRun = schedule.kind === "cron" ? cronFirstRun(clock) : deltaFirstRun;
    return nextTrigger(clock, dag, previous, last.now, firstRun);
  } catch (error) {
    if (error instanceof NeverFiresError) return null;
    throw error;
  }
}

/** The data interval of a manual run created at `runAfter`. */
export function inferManualDataInterval(dag: TimetableDag, runAfter: Date): DataInterval {
  const { schedule } = dag;
  // @once, manual-only and trigger schedules have no interval to look back over.
  if (schedule === null || schedule.kind === "once" || dag.semantics === "trigger") {
    return manualTrigger(runAfter);
  }
  try {
    return manualDataInterval(clockOf(dag), runAfter);
  } catch (error) {
    if (error instanceof NeverFiresError) return manualTrigger(runAfter);
    throw error;
  }
}

/** The timetable view of a serialized DAG (its dates are ISO strings there). */
export function timetableDagOf(dag: SerializedDag): TimetableDag {
  return {
    schedule: dag.schedule,
    timezone: dag.timezone,
    startDate: dag.startDate === null ? null : new Date(dag.startDate),
    endDate: dag.endDate === null ? null : new Date(dag.endDate),
    catchup: dag.catchup,
    semantics: dag.scheduleSemantics,
  };
}

/** Airflow's OnceTimetable: one run at startDate, whatever catchup says. */
function nextOnce(dag: TimetableDag, last: DataInterval | null): DagRunInfo | null {
  const at = dag.startDate;
  if (last !== null || at === null || (dag.endDate !== null && at > dag.endDate)) return null;
  return intervalRun({ start: at, end: at });
}

function clockOf(dag: TimetableDag): Clock {
  const { schedule } = dag;
  if (schedule?.kind === "cron") return cronClock(schedule.expression, dag.timezone);
  if (schedule?.kind === "interval") return deltaClock(schedule.seconds);
  throw new TypeError(`schedule ${JSON.stringify(schedule)} has no clock`);
}
