/**
 * TaskFlow: typed XCom passing between TypeScript functions. Passing one task's result to another
 * both hands over the value at run time and makes the producer an upstream task. The types are
 * checked: giving `load` the raw orders instead of a Summary would not compile.
 *
 * `node example_taskflow.ts` runs it once, in that process, printing every task's log: the last line
 * below (a debugger attached with `node --inspect-brk` stops in the task functions).
 */
import { dag, task } from "updraft";

interface Order {
  id: number;
  amount: number;
  country: string;
}

interface Summary {
  orders: number;
  revenue: number;
  byCountry: Record<string, number>;
}

const exampleTaskflow = dag(
  {
    dagId: "example_taskflow",
    description: "Typed values flowing between TypeScript tasks.",
    schedule: null,
    tags: ["example"],
  },
  () => {
    const extract = task("extract", async (): Promise<Order[]> => [
      { id: 1, amount: 120.5, country: "NL" },
      { id: 2, amount: 80, country: "DE" },
      { id: 3, amount: 42.25, country: "NL" },
    ]);

    const minimum = task("minimum", () => 50);

    const transform = task("transform", (orders: Order[], atLeast: number): Summary => {
      const kept = orders.filter((o) => o.amount >= atLeast);
      const byCountry: Record<string, number> = {};
      for (const o of kept) byCountry[o.country] = (byCountry[o.country] ?? 0) + o.amount;
      return { orders: kept.length, revenue: kept.reduce((sum, o) => sum + o.amount, 0), byCountry };
    });

    const load = task("load", (summary: Summary, target: { table: string; dryRun: boolean }) => {
      const line = `${target.dryRun ? "[dry run] " : ""}${summary.orders} orders, ${summary.revenue} revenue -> ${target.table}`;
      console.log(line);
      return line;
    });

    const orders = extract();
    const summary = transform(orders, minimum()); // two upstream tasks: extract and minimum
    load(summary, { table: "daily_revenue", dryRun: true }); // outputs may sit inside arrays and objects too
  },
);

export default exampleTaskflow;

// Only when this file is the program (`node example_taskflow.ts`): the DAG processor imports it.
if (import.meta.main) await exampleTaskflow.test();
