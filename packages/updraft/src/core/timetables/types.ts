/** The shapes the timetable functions take and return. All instants are UTC Dates. */
import type { Schedule } from "../schedule.ts";
import type { ScheduleSemantics } from "../serialized.ts";

export type { ScheduleSemantics };

/** What the timetable maths needs to know about a DAG (see timetableDagOf for a serialized DAG). */
export interface TimetableDag {
  schedule: Schedule;
  /** IANA zone cron expressions are read in. */
  timezone: string;
  startDate: Date | null;
  endDate: Date | null;
  catchup: boolean;
  semantics: ScheduleSemantics;
}

export interface DataInterval {
  start: Date;
  end: Date;
}

/** One scheduled run: what it covers and when it may be created (Airflow's DagRunInfo). */
export interface DagRunInfo {
  logicalDate: Date;
  dataIntervalStart: Date;
  dataIntervalEnd: Date;
  runAfter: Date;
}

export interface LastRun {
  /** The data interval of the latest scheduled (not manual) run, or null before the first one. */
  lastAutomatedDataInterval: DataInterval | null;
  now: Date;
}

export type RunType = "scheduled" | "manual" | "backfill" | "asset_triggered";
