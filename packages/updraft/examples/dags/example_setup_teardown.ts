/**
 * Setup and teardown (Airflow's): `create_cluster` is a setup, `delete_cluster` its teardown. The
 * teardown runs once everything before it is done, as long as its setup succeeded, even when the
 * work between failed (trigger with `{"fail_query": true}` to see it); it is left out of the run's
 * state, so the run fails when the work fails and succeeds when it succeeds, whatever the teardown
 * did. Clearing `query` clears its setup and teardown too.
 */
import { bash, dag, task } from "updraft";

const create = task("create_cluster", () => "cluster-42", { setup: true });

export default dag(
  {
    dagId: "example_setup_teardown",
    description: "A setup, work that may fail, and a teardown that cleans up either way.",
    schedule: null,
    tags: ["example"],
    params: { fail_query: false },
  },
  () => {
    const cluster = create();
    const query = bash("query", {
      command: "echo querying the cluster{% if params.fail_query %}; exit 1{% endif %}",
    });
    const report = bash("report", { command: "echo the query worked" });
    const drop = bash("delete_cluster", { command: "echo deleting the cluster" });
    cluster
      .before(query)
      .before(report)
      .before(drop.asTeardown({ setups: cluster }));
  },
);
