/**
 * Task groups (Airflow's TaskGroup): each region's extract, load and check sit in a group of their
 * own, inside a "regions" group; the graph and the grid show groups collapsed until clicked. A task's
 * id starts with its groups' ids ("regions.eu.load"). defaultArgs go inner over outer over the DAG's:
 * every task in "regions" gets 3 retries instead of the DAG's 1, and those in "eu" get 5 and a higher
 * priority. `regions >> report` waits for the group's leaves, and the group's output (what its
 * function returned: both loads' outputs) is the report's input.
 */
import { bash, dag, empty, task, taskGroup, type TaskOptions } from "updraft";

const extract = task("extract", (region: string) => ({ region, rows: region.length * 10 }));
const load = task("load", (batch: { region: string; rows: number }) => batch.rows);

/** One region's group: the same tasks, under the region's id. */
const region = (name: string, defaultArgs: TaskOptions = {}) =>
  taskGroup(
    name,
    () => {
      const loaded = load(extract(name));
      bash("check", { command: `echo checked ${name}` }).after(loaded);
      return loaded;
    },
    { tooltip: `Extract, load and check ${name}`, defaultArgs },
  );

const regions = taskGroup(
  "regions",
  () => [region("eu", { retries: 5, priorityWeight: 10 })().output, region("us")().output],
  { tooltip: "Every region, in parallel", defaultArgs: { retries: 3, retryDelay: "10s" } },
);

const report = task("report", (rows: number[]) => `loaded ${rows.reduce((a, b) => a + b, 0)} rows`);

export default dag(
  {
    dagId: "example_task_groups",
    description: "Regions extracted and loaded in nested task groups, then one report.",
    schedule: null,
    tags: ["example"],
    defaultArgs: { retries: 1 },
  },
  () => {
    const start = empty("start");
    const all = regions();
    start.before(all);
    const summary = report(all.output);
    all.before(summary);
  },
);
