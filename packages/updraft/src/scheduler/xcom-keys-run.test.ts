/**
 * XCom keys run for real: a multipleOutputs task pushes each key of its result (and the whole), and a
 * key a task reads but nobody pushed fails that task with the producer and key named (Airflow's
 * XComNotFound).
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { triggerDagRun } from "../operations/trigger-run.ts";
import { xcomStore } from "../storage/xcom.ts";
import { dagsHome, type DagsHome } from "../test-support/dags-home.ts";

const DAG = `import { dag, task } from "updraft";
const produce = task("produce", () => ({ rows: 3 }));
const consume = task("consume", (value: unknown) => value);
const quiet = task("quiet", () => undefined);
const report = task("report", () => ({ rows: 3, tables: ["a", "b"] }), { multipleOutputs: true });
const notAnObject = task("not_an_object", () => [1, 2], { multipleOutputs: true });
export default dag({ dagId: "keys" }, () => {
  const out = produce();
  const stats = report();
  consume.override({ taskId: "rows" })(stats.key<number>("rows"));
  consume.override({ taskId: "tables" })(stats.key<string[]>("tables"));
  notAnObject();
  consume.override({ taskId: "wrong_key" })(out.key("row_count"));
  consume.override({ taskId: "whole" })(out);
  consume.override({ taskId: "from_quiet" })(quiet());
});`;

let h: DagsHome;
before(async () => (h = await dagsHome({ "keys.ts": DAG })));
after(() => h.close());

test("a key never pushed fails its consumer, naming producer and key; multipleOutputs pushes each key", async () => {
  const run = await triggerDagRun(h.database, { dagId: "keys" });
  assert.equal(await h.drive(run), "failed");
  assert.deepEqual(await h.states(run), {
    produce: "success",
    wrong_key: "failed",
    whole: "success",
    quiet: "success",
    from_quiet: "success",
    report: "success",
    rows: "success",
    tables: "success",
    not_an_object: "failed",
  });
  const xcoms = xcomStore(h.database);
  assert.equal(await xcoms.pull(run.id, "report", "rows"), 3, "each key is an XCom of its own");
  assert.deepEqual(
    await xcoms.pull(run.id, "report"),
    { rows: 3, tables: ["a", "b"] },
    "and the whole as return_value",
  );
  assert.deepEqual(
    await xcoms.pull(run.id, "tables"),
    ["a", "b"],
    "a consumer of a key gets that key's value",
  );
  assert.equal(await xcoms.pull(run.id, "rows"), 3);
  assert.match(
    h.log(run, "not_an_object"),
    /multipleOutputs: true, so it must return an object \(each key becomes an XCom\), got an array/,
  );
  assert.match(h.log(run, "wrong_key"), /XCom "row_count", which "produce" never pushed in this run/);
});
