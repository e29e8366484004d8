/** Timetable maths: when a DAG's scheduled runs happen and what data interval each covers. */
export type { DagRunInfo, DataInterval, LastRun, RunType, ScheduleSemantics, TimetableDag } from "./types.ts";
export { inferManualDataInterval, latestRunWindow, nextDagRunInfo, timetableDagOf } from "./timetable.ts";
export { pythonIsoformat, runIdFor } from "./run-id.ts";
export { describeCron, describeSummary, describeTimetable } from "./describe.ts";
export { cronClock, deltaClock, NeverFiresError, unlessNeverFires, type Clock } from "./clock.ts";
