/**
 * Trigger rules: when a task runs given its upstream tasks' states. `maybe_skip` exits 99, so it
 * is skipped; `after_skip` (default all_success) is skipped with it; `join`
 * (none_failed_min_one_success) still runs because `work` succeeded; `cleanup` (all_done) runs
 * whatever happened. Every leaf ends success or skipped, so each run succeeds.
 */
import { bash, dag, empty } from "updraft";

export default dag(
  {
    dagId: "example_trigger_rules",
    description: "Skips, joins and a cleanup that always runs.",
    schedule: null,
    tags: ["example"],
  },
  () => {
    const start = empty("start");
    const work = bash("work", { command: "echo doing the work" });
    const maybeSkip = bash("maybe_skip", { command: "echo nothing to do today; exit 99" });
    const afterSkip = bash("after_skip", { command: "echo never printed: my upstream was skipped" });
    const join = bash("join", {
      command: "echo at least one branch succeeded and none failed",
      triggerRule: "none_failed_min_one_success",
    });
    const cleanup = bash("cleanup", {
      command: "echo cleaning up whatever happened",
      triggerRule: "all_done",
    });

    start.before([work, maybeSkip]);
    maybeSkip.before(afterSkip);
    join.after([work, afterSkip]);
    cleanup.after([join, afterSkip]);
  },
);
