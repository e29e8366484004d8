/**
 * Fan-out and fan-in with chain(): a task before a list runs before each of them (fan-out), a list
 * before a task runs before it (fan-in), and two lists next to each other are joined pairwise
 * (extract_a -> load_a, extract_b -> load_b, ...), as Airflow's chain().
 */
import { bash, chain, dag, empty } from "updraft";

const REGIONS = ["eu", "us", "apac"];

export default dag(
  {
    dagId: "example_fan_out_fan_in",
    description: "One start, parallel per-region branches, one end.",
    schedule: "@hourly",
    startDate: "2025-01-01",
    catchup: false,
    maxActiveTasks: 4,
    tags: ["example"],
  },
  () => {
    const start = empty("start");
    const extracts = REGIONS.map((region) =>
      bash(`extract_${region}`, { command: `echo extracting ${region}; sleep 1` }),
    );
    const loads = REGIONS.map((region) => bash(`load_${region}`, { command: `echo loading ${region}` }));
    const publish = bash("publish", { command: "echo all regions loaded for {{ ds }}" });
    const end = empty("end");

    // start -> every extract; extract_x -> load_x; every load -> publish -> end
    chain(start, extracts, loads, publish, end);
  },
);
