/**
 * The smallest complete pipeline: a daily extract -> total -> report, mixing TaskFlow tasks (plain
 * TypeScript functions whose results travel as XComs) with a bash task, wired up with chain().
 */
import { bash, chain, dag, empty, task } from "updraft";

export default dag(
  {
    dagId: "example_etl",
    description: "Extract numbers, add them up, report the total.",
    schedule: "@daily",
    startDate: "2025-01-01",
    timezone: "Europe/Amsterdam",
    catchup: false,
    tags: ["example"],
    defaultArgs: { retries: 2, retryDelay: "30s" },
  },
  () => {
    const start = empty("start");
    const extract = task("extract", async () => [1, 2, 3]);
    const total = task("total", async (rows: number[]) => rows.reduce((a, b) => a + b, 0));
    const report = bash("report", { command: "echo total for {{ ds }}" });
    const rows = extract(); // calling a task adds it and returns a typed handle to its result
    chain(start, rows, total(rows), report); // and the dependencies
  },
);
