/**
 * The DAG example_trigger_dag_run starts: no schedule of its own, it runs when triggered, reading
 * what its trigger sent in `dag_run.conf` (with defaults when triggered by hand without one).
 */
import { bash, dag } from "updraft";

export default dag(
  {
    dagId: "example_triggered_report",
    description: "Run by example_trigger_dag_run, with the day in its conf.",
    schedule: null,
    tags: ["example"],
    params: { day: "today", requested_by: "hand" },
  },
  () => {
    bash("build_report", {
      command: 'echo "report of {{ params.day }}, requested by {{ params.requested_by }}"; sleep 1',
    });
  },
);
