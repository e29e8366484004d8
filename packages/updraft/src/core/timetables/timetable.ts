/**
 * The entry points: which timetable a DAG's schedule and semantics select (as Airflow maps a
 * schedule to a Timetable class), and the conversion from the serialized DAG.
 */
import { CRON_PRESETS, type Schedule } from "../schedule.ts";
import type { SerializedDag } from "../serialized.ts";
import { cronClock, deltaClock, unlessNeverFires } from "./clock.ts";
import { intervalRun, manualDataInterval, nextDataInterval } from "./data-interval.ts";
import {
  cronFirstRun,
  deltaFirstRun,
  manualTrigger,
  nextOfTriggers,
  nextTrigger,
  type Trigger,
} from "./trigger.ts";
import type { DagRunInfo, DataInterval, LastRun, TimetableDag } from "./types.ts";

type Periodic = Extract<NonNullable<Schedule>, { kind: "cron" | "interval" | "delta" }>;
type CronTrigger = Extract<NonNullable<Schedule>, { kind: "cron_trigger" }>;

/**
 * The next run the scheduler should create, or null when there is none: manual-only schedule,
 * @once already run, past endDate, or a cron that never fires again. Create it once `runAfter`
 * has passed; call again with its interval as `lastAutomatedDataInterval` for the one after.
 */
export function nextDagRunInfo(dag: TimetableDag, last: LastRun): DagRunInfo | null {
  const { schedule } = dag;
  const previous = last.lastAutomatedDataInterval;
  if (schedule === null) return null;
  switch (schedule.kind) {
    case "assets":
      // Runs come from asset events (scheduler/asset-runs.ts), never from the clock.
      return null;
    case "once":
      return nextOnce(dag, previous);
    case "continuous":
      return nextContinuous(dag, previous, last.now);
    case "cron_trigger":
      return nextOfTriggers(cronTriggers(schedule, dag.timezone), dag, previous, last.now);
  }
  const trigger = triggerOf(schedule, dag.timezone);
  return unlessNeverFires(() =>
    dag.semantics === "data_interval"
      ? nextDataInterval(trigger.clock, dag, previous, last.now)
      : nextTrigger(trigger, dag, previous, last.now),
  );
}

/** The data interval of a manual run created at `runAfter`. */
export function inferManualDataInterval(dag: TimetableDag, runAfter: Date): DataInterval {
  const { schedule } = dag;
  // @once, @continuous and manual-only schedules have no interval to look back over.
  if (
    schedule === null ||
    schedule.kind === "once" ||
    schedule.kind === "continuous" ||
    schedule.kind === "assets"
  ) {
    return manualTrigger(runAfter);
  }
  if (schedule.kind === "cron_trigger") return manualTrigger(runAfter, schedule.interval * 1000);
  const trigger = triggerOf(schedule, dag.timezone);
  if (dag.semantics === "trigger") return manualTrigger(runAfter, trigger.intervalMs);
  return unlessNeverFires(() => manualDataInterval(trigger.clock, runAfter)) ?? manualTrigger(runAfter);
}

/**
 * When a scheduled run counts as the latest (Airflow's LatestOnlyOperator): while now lies after
 * its data interval's start and no later than the end of the run that follows it. Null when no run
 * follows (it stays the latest).
 */
export function latestRunWindow(dag: TimetableDag, run: DataInterval, now: Date): DataInterval | null {
  const following = nextDagRunInfo(
    { ...dag, startDate: run.end, endDate: null, catchup: true },
    { lastAutomatedDataInterval: run, now },
  );
  return following && { start: run.start, end: following.dataIntervalEnd };
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

/**
 * Airflow's ContinuousTimetable: the first run covers startDate (or now) up to now, each later one
 * the time since the previous one ended. Its runAfter is now, so the scheduler creates it as soon as
 * maxActiveRuns (1) lets it, and computes it again at that moment (see scheduler/create-runs.ts).
 */
function nextContinuous(dag: TimetableDag, last: DataInterval | null, now: Date): DagRunInfo | null {
  const from = dag.startDate ?? now;
  let interval: DataInterval;
  if (last === null) interval = { start: from, end: from > now ? from : now };
  else if (last.end <= now) interval = { start: last.end, end: now };
  // The last run ends in the future: startDate was moved there since; start again from it.
  else interval = { start: from, end: new Date(from.getTime() + last.end.getTime() - last.start.getTime()) };
  if (dag.endDate !== null && interval.end > dag.endDate) return null;
  return intervalRun(interval);
}

/** A single cron or step schedule as a trigger timetable (data-interval semantics use its clock). */
function triggerOf(schedule: Periodic, timezone: string): Trigger {
  if (schedule.kind === "cron") {
    const clock = cronClock(schedule.expression, timezone);
    return { clock, firstRun: cronFirstRun(clock), intervalMs: 0 };
  }
  const anchor = schedule.kind === "delta" && schedule.anchor !== null ? new Date(schedule.anchor) : null;
  const clock = deltaClock(schedule.seconds, anchor);
  const intervalMs = schedule.kind === "delta" ? schedule.interval * 1000 : 0;
  return { clock, firstRun: deltaFirstRun(clock), intervalMs };
}

function cronTriggers(schedule: CronTrigger, timezone: string): Trigger[] {
  return schedule.expressions.map((written) => {
    const clock = cronClock(CRON_PRESETS[written] ?? written, timezone);
    return { clock, firstRun: cronFirstRun(clock), intervalMs: schedule.interval * 1000 };
  });
}
