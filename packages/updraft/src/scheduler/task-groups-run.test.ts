/**
 * A DAG with task groups run for real: prefixed ids reach the task runner (TaskFlow functions are found
 * by their full id), a group's defaultArgs give its tasks retries, `group >> x` waits for the group's
 * leaves, the group's output reaches a task outside it, and a failure inside a group fails what follows.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { triggerDagRun } from "../operations/trigger-run.ts";
import { taskInstanceStore } from "../storage/task-instances.ts";
import { xcomStore } from "../storage/xcom.ts";
import { dagsHome, type DagsHome } from "../test-support/dags-home.ts";

const scratch = mkdtempSync(join(tmpdir(), "updraft-groups-run-"));
const marker = join(scratch, "tried-once");
const written = join(scratch, "written");

const DAG = `import { dag, bash, task, taskGroup } from "updraft";
const extract = task("extract", (n: number) => [n, n + 1]);
const sum = task("sum", (rows: number[]) => rows.reduce((a, b) => a + b, 0));
const etl = taskGroup("etl", (n: number) => {
  const rows = extract(n);
  const flaky = bash("flaky", { command: "[ -f ${marker} ] || { touch ${marker}; exit 1; }" });
  rows.before(flaky);
  taskGroup("write", () => {
    bash("file", { command: "echo written > ${written}" });
  })().after(flaky);
  return sum(rows);
}, { defaultArgs: { retries: 1, retryDelay: 0 } });
export default dag({ dagId: "grouped_run" }, () => {
  const g = etl(20);
  const report = task("report", (total: number) => "total " + total);
  const r = report(g.output);
  const check = bash("check", { command: "test -f ${written}" });
  g.before([r, check]);
  const failing = taskGroup("failing", () => { bash("boom", { command: "exit 3" }); })();
  check.before(failing).before(bash("after_failure", { command: "true" }));
});`;

/** A branch may return a task group's id: the group's first tasks run, the other branch is skipped. */
const BRANCHING = `import { branch, dag, empty, taskGroup } from "updraft";
export default dag({ dagId: "branch_to_group" }, () => {
  const pick = branch("pick", () => "chosen")();
  const chosen = taskGroup("chosen", () => {
    const a = empty("a");
    const b = empty("b");
    a.before(b);
    empty("c");
  })();
  const other = taskGroup("other", () => { empty("x"); })();
  pick.before([chosen, other]);
});`;

describe("task groups, run for real", () => {
  let h: DagsHome;
  before(async () => (h = await dagsHome({ "grouped_run.ts": DAG, "branch_to_group.ts": BRANCHING })));
  after(async () => {
    await h.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  test("the group's tasks run under their full ids, with its retries; what follows it waits for it", async () => {
    const run = await triggerDagRun(h.database, { dagId: "grouped_run" });
    assert.equal(await h.drive(run), "failed");
    assert.deepEqual(await h.states(run), {
      "etl.extract": "success",
      "etl.flaky": "success",
      "etl.write.file": "success",
      "etl.sum": "success",
      report: "success",
      check: "success",
      "failing.boom": "failed",
      after_failure: "upstream_failed",
    });
    const tis = await taskInstanceStore(h.database).listByRun(run.id);
    const tries = Object.fromEntries(tis.map((t) => [t.task_id, t.try_number]));
    // The group's defaultArgs gave etl.flaky a retry; failing.boom has none (the DAG sets no retries).
    assert.equal(tries["etl.flaky"], 2);
    assert.equal(tries["failing.boom"], 1);
    assert.equal(await xcomStore(h.database).pull(run.id, "report"), "total 41");
    assert.match(h.log(run, "failing.boom"), /bash exited with code 3/);
  });

  test("a branch that returns a group's id follows the group's first tasks (Airflow's task group roots)", async () => {
    const run = await triggerDagRun(h.database, { dagId: "branch_to_group" });
    assert.equal(await h.drive(run), "success");
    assert.deepEqual(await h.states(run), {
      pick: "success",
      "chosen.a": "success",
      "chosen.b": "success",
      "chosen.c": "success",
      "other.x": "skipped",
    });
  });
});
