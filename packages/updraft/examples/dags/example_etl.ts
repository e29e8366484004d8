/**
 * The smallest complete pipeline: a daily extract -> total -> report, mixing TaskFlow tasks (plain
 * TypeScript functions whose results travel as XComs) with a bash task, wired up with chain().
 * Its docMd (and the report task's) is Markdown: the UI renders it on the DAG's Details tab and
 * in the task's panels.
 */
import { bash, chain, dag, empty, task } from "updraft";

export default dag(
  {
    dagId: "example_etl",
    description: "Extract numbers, add them up, report the total.",
    schedule: "@daily",
    startDate: "2025-01-01",
    timezone: "Europe/Amsterdam",
    docMd: [
      "# Daily totals",
      "",
      "Adds up yesterday's numbers and reports the total.",
      "",
      "- **extract** reads the rows (a TaskFlow task: its result is an XCom)",
      "- **total** adds them up",
      "- **report** prints the total with the run's `{{ ds }}`",
      "",
      "Same ideas as [Airflow's DAGs](https://airflow.apache.org/docs/apache-airflow/stable/core-concepts/dags.html).",
    ].join("\n"),
    catchup: false,
    tags: ["example"],
    defaultArgs: { retries: 2, retryDelay: "30s" },
  },
  () => {
    const start = empty("start");
    const extract = task("extract", async () => [1, 2, 3]);
    const total = task("total", async (rows: number[]) => rows.reduce((a, b) => a + b, 0));
    const report = bash("report", {
      command: "echo total for {{ ds }}",
      docMd: "Prints the total. **Owner:** data team; on failure, re-run it: it has no side effects.",
    });
    const rows = extract(); // calling a task adds it and returns a typed handle to its result
    chain(start, rows, total(rows), report); // and the dependencies
  },
);
