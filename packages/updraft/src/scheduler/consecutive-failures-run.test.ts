/**
 * maxConsecutiveFailedDagRuns (Airflow's max_consecutive_failed_dag_runs), run for real: a DAG whose
 * latest runs failed that many times in a row is paused; a success in between resets the count, and
 * a DAG without the option is never paused for failing.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { triggerDagRun } from "../operations/trigger-run.ts";
import { dagStore } from "../storage/dags.ts";
import { dagsHome, type DagsHome } from "../test-support/dags-home.ts";

const dagFile = (dagId: string, option: string) => `import { dag, bash } from "updraft";
export default dag({ dagId: "${dagId}", params: { code: "1" }${option} }, () => {
  bash("work", { command: "exit {{ params.code }}" });
});`;

let h: DagsHome;
before(
  async () =>
    (h = await dagsHome(
      {
        "fragile.ts": dagFile("fragile", ", maxConsecutiveFailedDagRuns: 2"),
        "sturdy.ts": dagFile("sturdy", ""),
      },
      { UPDRAFT__CORE__DAGS_ARE_PAUSED_AT_CREATION: "false" },
    )),
);
after(() => h.close());

const runOnce = async (dagId: string, code: string) =>
  h.drive(await triggerDagRun(h.database, { dagId, conf: { code } }), 2);
const paused = async (dagId: string) => (await dagStore(h.database).get(dagId))!.is_paused === 1;

test("two failures in a row pause the DAG; a success between them does not", async () => {
  assert.equal(await runOnce("fragile", "1"), "failed");
  assert.equal(await runOnce("fragile", "0"), "success");
  assert.equal(await runOnce("fragile", "1"), "failed");
  assert.equal(await paused("fragile"), false, "failed, succeeded, failed: not two in a row");
  assert.equal(await runOnce("fragile", "1"), "failed");
  assert.equal(await paused("fragile"), true, "the latest two runs failed");
  assert.equal(
    (await dagStore(h.database).get("fragile"))!.max_consecutive_failed_dag_runs,
    2,
    "as the API shows it",
  );
});

test("without the option (configuration default 0) a DAG is never paused for failing", async () => {
  for (let i = 0; i < 3; i++) assert.equal(await runOnce("sturdy", "1"), "failed");
  assert.equal(await paused("sturdy"), false);
});
