/**
 * Your first DAG. Updraft picks up every .ts file in this folder; change this one and the scheduler
 * sees the new version within seconds. Try: `npm run check` (types), `node my_first_dag.ts` (one run
 * here, every task's log printed), `updraft dags test my_first_dag` (the same through Updraft).
 */
import { bash, dag, task } from "updraft";

interface Reading {
  sensor: string;
  celsius: number;
}

const myFirstDag = dag(
  {
    dagId: "my_first_dag",
    description: "Typed values flowing between TypeScript tasks, then a shell command.",
    docMd: "# My first DAG\n\nReads some temperatures, reports their average, then archives them.",
    schedule: "@daily",
    startDate: "2026-01-01",
    tags: ["starter"],
  },
  () => {
    const read = task("read", (): Reading[] => [
      { sensor: "roof", celsius: 11.5 },
      { sensor: "cellar", celsius: 14 },
    ]);

    // The parameter's type is checked against what `read` returns.
    const average = task("average", (readings: Reading[]): number => {
      const sum = readings.reduce((total, r) => total + r.celsius, 0);
      return Math.round((sum / readings.length) * 10) / 10;
    });

    const report = task("report", (celsius: number) => {
      console.log(`average temperature: ${celsius} C`);
    });

    const archive = bash("archive", { command: "echo 'archiving the readings of {{ ds }}'" });

    report(average(read())).before(archive);
  },
);

export default myFirstDag;

// `node my_first_dag.ts` runs the DAG once in this process (breakpoints work with --inspect).
if (import.meta.main) await myFirstDag.test();
