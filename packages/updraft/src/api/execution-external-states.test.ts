/**
 * A remote worker's externalTaskSensor asks the Task Execution API for another DAG's states: only a
 * running try's token may ask, and the answer is what the local runner's lookup gives (read-only).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { triggerDagRun } from "../operations/trigger-run.ts";
import { tryTokenKey, tryTokens } from "../secrets/try-tokens.ts";
import { forEachApiDatabase } from "../test-support/api.ts";

const DAGS = {
  "up.ts": `import { dag, bash } from "updraft";
export default dag({ dagId: "up", schedule: null }, () => { bash("load", { command: "true" }); });`,
  "down.ts": `import { dag, externalTaskSensor } from "updraft";
export default dag({ dagId: "down", schedule: null }, () => { externalTaskSensor("wait", { externalDagId: "up", externalTaskId: "load" }); });`,
};

const DATE = new Date("2025-05-01T00:00:00Z");

forEachApiDatabase("the Task Execution API's external states", { dags: DAGS }, (get) => {
  test("a running try reads another DAG's run and task states", async () => {
    const { app, database, config } = get();
    const up = await triggerDagRun(database, { dagId: "up", logicalDate: DATE });
    const down = await triggerDagRun(database, { dagId: "down", logicalDate: DATE });
    await database.db
      .updateTable("task_instance")
      .set({ state: "success", try_number: 1 })
      .where("dag_run_id", "=", up.id)
      .execute();
    await database.db
      .updateTable("task_instance")
      .set({ state: "running", try_number: 1 })
      .where("dag_run_id", "=", down.id)
      .execute();
    const key = tryTokenKey(config.values.api.secret_key, config.values.security.encryption_key);
    const token = await tryTokens(key, 600).issue({
      dagId: "down",
      runId: down.run_id,
      taskId: "wait",
      mapIndex: -1,
      tryNumber: 1,
    });
    const query = { dagId: "up", taskIds: ["load"], logicalDates: [DATE.toISOString()] };
    const asked = (authorization?: string) =>
      app.inject({
        method: "POST",
        url: "/execution/external-states",
        headers: authorization ? { authorization } : {},
        payload: query,
      });
    const r = await asked(`Bearer ${token}`);
    assert.equal(r.statusCode, 200, r.body);
    assert.deepEqual(r.json(), {
      dagExists: true,
      runs: [{ logicalDate: DATE.toISOString(), runId: up.run_id, state: "queued" }],
      taskInstances: [{ logicalDate: DATE.toISOString(), taskId: "load", mapIndex: -1, state: "success" }],
    });
    assert.equal((await asked()).statusCode, 401, "without a try token");
    // A try that no longer runs is told to stop.
    await database.db
      .updateTable("task_instance")
      .set({ state: "success" })
      .where("dag_run_id", "=", down.id)
      .execute();
    assert.equal((await asked(`Bearer ${token}`)).statusCode, 409);
  });
});
