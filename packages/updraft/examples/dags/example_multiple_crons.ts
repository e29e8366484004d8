/**
 * Several crons in one schedule (Airflow's MultipleCronTriggerTimetable): a run at 06:00 every day
 * and at 18:00 on weekdays, Amsterdam time, one run where both would tick. With `interval` each run
 * covers the 12 hours before its tick: the data interval ends when the run is due, and the run's
 * logical date ({{ ds }}, {{ logical_date }}) is the interval's start, as in Airflow.
 */
import { bash, dag, multipleCronTriggerTimetable } from "updraft";

export default dag(
  {
    dagId: "example_multiple_crons",
    description: "06:00 daily and 18:00 on weekdays, each run covering the 12 hours before it.",
    schedule: multipleCronTriggerTimetable(["0 6 * * *", "0 18 * * 1-5"], {
      timezone: "Europe/Amsterdam",
      interval: "12h",
    }),
    startDate: "2025-01-01",
    catchup: false,
    tags: ["example"],
  },
  () => {
    const window = bash("window", {
      command: 'echo "collecting orders from {{ data_interval_start }} to {{ data_interval_end }}"',
    });
    const report = bash("report", { command: 'echo "run {{ run_id }}: logical date {{ ds }}"' });
    window.before(report);
  },
);
