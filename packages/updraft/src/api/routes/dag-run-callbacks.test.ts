/**
 * A run's DAG callbacks and deadlines through the UI API (GET /ui/dags/{dag_id}/dagRuns/{dag_run_id}/callbacks):
 * what the run asked for, each request's outcome (a failed one with its error), and each deadline
 * met, missed or pending. Answers are checked against the schema by the harness.
 */
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { pino } from "pino";
import { triggerDagRun } from "../../operations/trigger-run.ts";
import { examineRuns } from "../../scheduler/examine-runs.ts";
import { callbackStore } from "../../storage/callbacks.ts";
import { forEachApiDatabase } from "../../test-support/api.ts";

const DAG = `import { dag, empty } from "updraft";
export default dag(
  {
    dagId: "watched",
    onFailure: () => {},
    deadline: [
      { reference: "queued_at", interval: "1s", callback: () => {} },
      { reference: "queued_at", interval: "10d", callback: () => {} },
    ],
  },
  () => void empty("a"),
);`;

const log = pino({ level: "silent" });

forEachApiDatabase("DAG run callbacks in the UI API", { dags: { "watched.ts": DAG } }, (get) => {
  before(async () => {
    const { database } = get();
    const run = await triggerDagRun(database, { dagId: "watched", runId: "r1", logicalDate: new Date() });
    await database.db.updateTable("dag_run").set({ state: "running" }).where("id", "=", run.id).execute();
    // The first deadline passes with the run unfinished; then its task fails and so does the run.
    await callbackStore(database).missDueDeadlines(new Date(Date.now() + 5_000).toISOString());
    await database.db
      .updateTable("task_instance")
      .set({ state: "failed" })
      .where("dag_run_id", "=", run.id)
      .execute();
    await examineRuns(database, { now: new Date().toISOString(), log, cancel: () => false });
    const store = callbackStore(database);
    const claimed = await store.claim(
      7,
      10,
      new Date().toISOString(),
      new Date(Date.now() + 60_000).toISOString(),
    );
    for (const c of claimed)
      await store.finish(
        c.id,
        7,
        c.event === "dag_failure" ? { ok: false, error: "Error: smtp down" } : { ok: true },
        new Date().toISOString(),
      );
  });

  test("the run's callbacks with their outcome, and its deadlines missed or pending", async () => {
    const r = await get().call("get_dag_run_callbacks", {
      path: { dag_id: "watched", dag_run_id: "r1" },
      as: "Viewer",
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const byEvent = Object.fromEntries(
      (r.body.callbacks as { event: string }[]).map((c) => [c.event, c]),
    ) as Record<string, Record<string, unknown>>;
    assert.deepEqual(Object.keys(byEvent).sort(), ["dag_failure", "deadline_missed"]);
    assert.equal(byEvent.dag_failure!.state, "failed");
    assert.equal(byEvent.dag_failure!.error, "Error: smtp down");
    assert.equal(byEvent.dag_failure!.reason, "task_failure");
    assert.equal(byEvent.dag_failure!.task_id, "a");
    assert.equal(byEvent.deadline_missed!.state, "success");
    assert.equal(byEvent.deadline_missed!.deadline_index, 0);
    assert.deepEqual(
      (r.body.deadlines as Record<string, unknown>[]).map((d) => [
        d.index,
        d.reference,
        d.interval,
        d.status,
      ]),
      [
        [0, "queued_at", 1, "missed"],
        // Not passed, but the run ended: met.
        [1, "queued_at", 864000, "met"],
      ],
    );
  });

  test("an unknown run is 404; a stranger is 401", async () => {
    const missing = await get().call("get_dag_run_callbacks", {
      path: { dag_id: "watched", dag_run_id: "nope" },
    });
    assert.equal(missing.status, 404);
    const stranger = await get().call("get_dag_run_callbacks", {
      path: { dag_id: "watched", dag_run_id: "r1" },
      as: null,
    });
    assert.equal(stranger.status, 401);
  });
});
