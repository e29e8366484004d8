/**
 * Setup and teardown (Airflow's): `create_cluster` is a setup, `delete_cluster` its teardown. The
 * teardown runs once everything before it is done, as long as its setup succeeded, even when the
 * work between failed (`flaky_query` fails every other run); it is left out of the run's state, so
 * the run fails when the work fails and succeeds when it succeeds, whatever the teardown did.
 * Clearing `flaky_query` clears its setup and teardown too.
 */
import { bash, dag, task } from "updraft";

const create = task("create_cluster", () => "cluster-42", { setup: true });

export default dag(
  {
    dagId: "example_setup_teardown",
    description: "A setup, work that may fail, and a teardown that cleans up either way.",
    schedule: null,
    tags: ["example"],
  },
  () => {
    const cluster = create();
    const query = bash("flaky_query", {
      command: "echo querying the cluster; test $(( $(date +%s) % 2 )) -eq 0",
    });
    const report = bash("report", { command: "echo the query worked" });
    const drop = bash("delete_cluster", { command: "echo deleting the cluster" });
    cluster
      .before(query)
      .before(report)
      .before(drop.asTeardown({ setups: cluster }));
  },
);
