/**
 * Sensors run for real: checks in TaskFlow worker processes, the runner deciding poke, reschedule and
 * timeout, the results in the database. A reschedule-mode sensor frees its slot between checks (with
 * one slot, the task that makes its file runs meanwhile), keeps its try number and leaves one
 * task_reschedule row per "not yet"; a timeout fails without retries, or skips with softFail.
 */
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { triggerDagRun } from "../operations/trigger-run.ts";
import { dagsHome, type DagsHome } from "../test-support/dags-home.ts";
import { taskInstanceStore } from "../storage/task-instances.ts";

const dir = mkdtempSync(join(tmpdir(), "updraft-sensors-"));
const flag = join(dir, "ready.flag");

const DAG = `import { existsSync } from "node:fs";
import { dag, sensor, bash } from "updraft";
export const slots = dag({ dagId: "one_slot" }, () => {
  const wait = sensor("a_wait_for_flag", () => existsSync(${JSON.stringify(flag)}) ? { done: true, value: "found" } : false, {
    pokeInterval: "300ms", timeout: "60s", mode: "reschedule", priorityWeight: 10,
  });
  bash("z_make_flag", { command: "sleep 0.5; touch ${flag}" });
  wait;
});
export const timeouts = dag({ dagId: "timeouts" }, () => {
  sensor("never", () => false, { pokeInterval: "100ms", timeout: "400ms", retries: 3 });
  sensor("never_soft", () => false, { pokeInterval: "100ms", timeout: "400ms", softFail: true, mode: "reschedule" });
});
`;

let h: DagsHome;
before(async () => (h = await dagsHome({ "sensors.ts": DAG })));
after(() => h.close());

test("a reschedule-mode sensor gives its slot back between checks, keeps its try and pushes its value", async () => {
  const run = await triggerDagRun(h.database, { dagId: "one_slot" });
  // One slot: were the sensor to hold it, the flag would never be made.
  assert.equal(await h.drive(run, 1), "success");
  const tis = await taskInstanceStore(h.database).listByRun(run.id);
  const wait = tis.find((t) => t.task_id === "a_wait_for_flag")!;
  assert.equal(wait.state, "success");
  assert.equal(wait.try_number, 1, "a reschedule is not a retry");
  assert.equal(wait.next_method, null, "an ended try goes on from no wait");
  const pokes = await h.database.db
    .selectFrom("task_reschedule")
    .selectAll()
    .where("dag_id", "=", "one_slot")
    .execute();
  assert.ok(
    pokes.length >= 1,
    `each "not yet" left a task_reschedule row:\n${h.log(run, "a_wait_for_flag")}\n${h.log(run, "z_make_flag")}`,
  );
  assert.ok(pokes.every((p) => p.try_number === 1 && p.reschedule_date > p.end_date));
  const value = await h.database.db
    .selectFrom("xcom")
    .select("value")
    .where("dag_run_id", "=", run.id)
    .where("task_id", "=", "a_wait_for_flag")
    .executeTakeFirst();
  assert.equal(JSON.parse(value!.value!), "found");
  const log = h.log(run, "a_wait_for_flag");
  assert.match(log, /the slot is free until then/);
  assert.match(log, /the condition is met after \d+ checks/);
});

test("a timeout fails the sensor without using its retries; softFail skips it", async () => {
  const run = await triggerDagRun(h.database, { dagId: "timeouts" });
  assert.equal(await h.drive(run, 4), "failed");
  const states = await h.states(run);
  assert.deepEqual(states, { never: "failed", never_soft: "skipped" });
  const never = (await taskInstanceStore(h.database).listByRun(run.id)).find((t) => t.task_id === "never")!;
  assert.equal(never.try_number, 1, "a sensor timeout is not retried");
  assert.match(h.log(run, "never"), /sensor timeout: the sensor waited [\d.]+s, past its timeout of 0.4s/);
  assert.match(h.log(run, "never_soft"), /skipped \(softFail\)/);
});
