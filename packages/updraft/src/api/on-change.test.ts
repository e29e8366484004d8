/** An accepted change wakes the scheduler of the same process (standalone); reads and refusals do not. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { forEachApiDatabase } from "../test-support/api.ts";

const DAG = `import { dag, empty } from "updraft";
export default dag({ dagId: "poked", startDate: "2024-01-01" }, () => { empty("only"); });`;

let changes = 0;
/** onResponse hooks run once the answer is sent: let them. */
const settled = () => new Promise((resolve) => setTimeout(resolve, 20));
forEachApiDatabase(
  "changes wake the scheduler",
  { dags: { "poked.ts": DAG }, onChange: () => changes++ },
  (get) => {
    test("a trigger calls onChange once; a read and a refused change do not", async () => {
      const h = get();
      const before = changes;
      assert.equal((await h.call("get_dags", {})).status, 200);
      const refused = await h.call("trigger_dag_run", {
        path: { dag_id: "poked" },
        body: { logical_date: null },
        as: "Viewer",
      });
      assert.equal(refused.status, 403);
      await settled();
      assert.equal(changes, before, "reads and refusals change nothing");
      const triggered = await h.call("trigger_dag_run", {
        path: { dag_id: "poked" },
        body: { logical_date: null },
      });
      assert.equal(triggered.status, 200);
      await settled();
      assert.equal(changes, before + 1);
    });
  },
);
