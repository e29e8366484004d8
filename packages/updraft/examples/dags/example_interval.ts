/**
 * An interval schedule: `{ every: "30m" }` runs the DAG every 30 minutes from startDate. By default
 * (Airflow 3's DeltaTriggerTimetable) a run's logical date and data interval are the moment it is
 * due; with `[scheduler] create_delta_data_intervals` (or deltaDataIntervalTimetable("30m")) each run
 * covers the 30 minutes before it. With catchup false, only the latest run is made when the DAG is
 * switched on, not every one since startDate.
 */
import { bash, dag } from "updraft";

export default dag(
  {
    dagId: "example_interval",
    description: "Runs every 30 minutes.",
    schedule: { every: "30m" },
    startDate: "2025-01-01T00:00",
    catchup: false,
    maxActiveRuns: 1,
    tags: ["example"],
  },
  () => {
    bash("poll", {
      command:
        'echo "polling for data between {{ data_interval_start }} and {{ data_interval_end }}"; date -u',
    });
  },
);
