/**
 * Pools and priorities: a pool caps how many task slots run at once across all DAGs; a task may
 * take several slots (poolSlots). When slots are scarce, higher priority weights go first;
 * weightRule "downstream" (default) adds the weights of a task's downstream tasks, "upstream" of
 * its upstream tasks, "absolute" uses its own. The tasks use default_pool, which always exists:
 * create a pool before naming it in `pool`.
 */
import { bash, dag, empty } from "updraft";

export default dag(
  {
    dagId: "example_pools_priority",
    description: "Slot usage and priority weights.",
    schedule: null,
    tags: ["example"],
    defaultArgs: { pool: "default_pool" },
  },
  () => {
    const start = empty("start");
    const heavy = bash("heavy_report", {
      command: "echo a big job taking two slots; sleep 1",
      poolSlots: 2,
      priorityWeight: 10,
      weightRule: "absolute",
    });
    const urgent = bash("urgent_alert", {
      command: "echo goes first when slots are scarce",
      priorityWeight: 100,
    });
    const background = bash("background_sync", {
      command: "echo runs when there is room",
      priorityWeight: 1,
    });
    const end = empty("end", { weightRule: "upstream" });
    start.before([heavy, urgent, background]);
    end.after([heavy, urgent, background]);
  },
);
