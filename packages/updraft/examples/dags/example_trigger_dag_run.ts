/**
 * One DAG starting another (Airflow's TriggerDagRunOperator): `start_report` triggers a run of
 * example_triggered_report with a conf rendered from this run, waits for it to end (looking every
 * 5 s in its slot; `deferrable: true` would wait through the triggerer instead), and fails if it
 * fails. The task instance's page links to the run it triggered ("Triggered DAG").
 */
import { bash, dag, triggerDagRun } from "updraft";

export default dag(
  {
    dagId: "example_trigger_dag_run",
    description: "Triggers example_triggered_report and waits for it.",
    schedule: null,
    tags: ["example"],
  },
  () => {
    const prepare = bash("prepare", { command: 'echo "preparing the data of {{ ds }}"' });
    const start = triggerDagRun("start_report", {
      dagId: "example_triggered_report",
      conf: { day: "{{ ds }}", requested_by: "{{ run_id }}" },
      waitForCompletion: true,
      pokeInterval: "2s",
    });
    // start_report pushed the run's id as its XCom "trigger_run_id" (and "trigger_logical_date").
    const announce = bash("announce", { command: 'echo "the report of {{ ds }} is done"' });
    prepare.before(start).before(announce);
  },
);
