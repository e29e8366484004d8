/**
 * The scheduler end to end on a real SQLite file: real DAG files parsed in child processes, bash
 * tasks in process groups, TypeScript tasks in the worker pool, XCom between them, retries, skips
 * and trigger rules, and a restart in the middle of a run.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { pino } from "pino";
import { loadConfig, type Config } from "../config/load.ts";
import { processDagFiles } from "../dag-processing/processor.ts";
import type { TaskLog } from "../executor/run-task-instance.ts";
import { openDatabase, type Database } from "../storage/database.ts";
import { dagRunStore } from "../storage/dag-runs.ts";
import { migrateDatabase } from "../storage/migrate.ts";
import { taskInstanceStore } from "../storage/task-instances.ts";
import { xcomStore } from "../storage/xcom.ts";
import { createScheduler } from "./runtime.ts";
import { triggerDagRun } from "../operations/trigger-run.ts";
import { clearTaskInstances } from "../operations/clear.ts";

const logs = new Map<string, string>();

function pipelineDag(marker: string) {
  return `import { dag, task, bash, empty, chain } from "updraft";
export default dag({ dagId: "pipeline", params: { n: 3 } }, () => {
  const start = empty("start");
  const rows = task("extract", async () => [1, 2, 3])();
  const total = task("total", async (r: number[]) => r.reduce((a, b) => a + b, 0))(rows);
  const flaky = bash("flaky", { command: "if [ -f ${marker} ]; then echo second; else touch ${marker}; echo first >&2; exit 1; fi", retries: 2, retryDelay: 0 });
  const skip = bash("skip_me", { command: "exit 99" });
  const after = empty("after_skip");
  const cleanup = bash("cleanup", { command: "echo cleaning {{ ds }} n={{ params.n }} {{ macros.ds_add(ds, 7) }}", triggerRule: "all_done" });
  chain(start, rows);
  chain(total, flaky, skip, after, cleanup);
});`;
}

describe("scheduler", () => {
  let home: string;
  let config: Config;
  let database: Database;

  before(async () => {
    home = mkdtempSync(join(tmpdir(), "updraft-sched-"));
    mkdirSync(join(home, "dags"));
    writeFileSync(join(home, "dags", "pipeline.ts"), pipelineDag(join(home, "flaky-marker")));
    config = loadConfig({
      env: {
        UPDRAFT_HOME: home,
        UPDRAFT__CORE__LOAD_EXAMPLES: "false",
        UPDRAFT__CORE__DAGS_ARE_PAUSED_AT_CREATION: "false",
      },
    });
    database = openDatabase(config.values.database.url);
    await migrateDatabase(database);
    const summary = await processDagFiles(config, database);
    assert.equal(summary.importErrors, 0);
  });
  after(async () => {
    await database.close();
    rmSync(home, { recursive: true, force: true });
  });

  function start() {
    return createScheduler({
      config,
      database,
      log: pino({ level: "silent" }),
      openLog: async (ti): Promise<TaskLog> => {
        const key = `${ti.task_id}#${ti.try_number}`;
        return {
          write: (chunk) => logs.set(key, (logs.get(key) ?? "") + chunk.toString()),
          close: async () => undefined,
        };
      },
      loopIntervalMs: 50,
    });
  }

  async function waitForRun(runId: string, timeoutMs = 30_000): Promise<string> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const run = await dagRunStore(database).get("pipeline", runId);
      if (run && (run.state === "success" || run.state === "failed")) return run.state;
      if (Date.now() > until) throw new Error(`run ${runId} still ${run?.state} after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  test("a manual run goes through every task with XCom, a retry, a skip and trigger rules", async () => {
    const { scheduler, close } = start();
    await scheduler.start();
    const run = await triggerDagRun(database, {
      dagId: "pipeline",
      runId: "manual_1",
      logicalDate: new Date("2025-03-04T00:00:00Z"),
      conf: { n: 5 },
    });
    const state = await waitForRun("manual_1");
    await scheduler.stop();
    await close();
    assert.equal(state, "success");
    const tis = await taskInstanceStore(database).listByRun(run.id);
    const byTask = Object.fromEntries(tis.map((t) => [t.task_id, [t.state, t.try_number]]));
    assert.deepEqual(byTask, {
      start: ["success", 1],
      extract: ["success", 1],
      total: ["success", 1],
      flaky: ["success", 2],
      skip_me: ["skipped", 1],
      after_skip: ["skipped", 0],
      cleanup: ["success", 1],
    });
    assert.equal(await xcomStore(database).pull(run.id, "total"), 6);
    assert.match(logs.get("flaky#1") ?? "", /first/);
    assert.match(logs.get("flaky#1") ?? "", /will retry/);
    assert.match(logs.get("flaky#2") ?? "", /second/);
    assert.match(logs.get("cleanup#1") ?? "", /cleaning 2025-03-04 n=5 2025-03-11/);
    const cleanup = tis.find((t) => t.task_id === "cleanup")!;
    assert.deepEqual(JSON.parse(cleanup.rendered_fields ?? "{}"), {
      command: "echo cleaning 2025-03-04 n=5 2025-03-11",
    });
    const history = await database.db
      .selectFrom("task_instance_history")
      .select(["task_id", "try_number", "state"])
      .where("task_id", "=", "flaky")
      .orderBy("try_number")
      .execute();
    assert.deepEqual(
      history.map((h) => [h.try_number, h.state]),
      [
        [1, "up_for_retry"],
        [2, "success"],
      ],
    );
  });

  test("a scheduler stopped mid-run lets the running task finish; a new one carries the run on", async () => {
    writeFileSync(
      join(home, "dags", "slow.ts"),
      `import { dag, bash, chain } from "updraft";
export default dag({ dagId: "slow" }, () => { chain(bash("first", { command: "sleep 1; echo one" }), bash("second", { command: "echo two" })); });`,
    );
    await processDagFiles(config, database);
    const first = start();
    await first.scheduler.start();
    const run = await triggerDagRun(database, { dagId: "slow", runId: "restart_1" });
    const tis = taskInstanceStore(database);
    for (
      let i = 0;
      i < 200 && (await tis.get({ dagId: "slow", runId: "restart_1", taskId: "first" }))?.state !== "running";
      i++
    )
      await new Promise((r) => setTimeout(r, 25));
    await first.scheduler.stop();
    await first.close();
    assert.equal(
      (await tis.get({ dagId: "slow", runId: "restart_1", taskId: "first" }))?.state,
      "success",
      "drained, not killed",
    );
    assert.equal(
      (await tis.get({ dagId: "slow", runId: "restart_1", taskId: "second" }))?.state,
      null,
      "nothing ran after the stop",
    );
    const second = start();
    await second.scheduler.start();
    const until = Date.now() + 20_000;
    while ((await dagRunStore(database).get("slow", "restart_1"))?.state !== "success" && Date.now() < until)
      await new Promise((r) => setTimeout(r, 50));
    await second.scheduler.stop();
    await second.close();
    assert.equal((await dagRunStore(database).get("slow", "restart_1"))?.state, "success");
    assert.deepEqual(
      (await tis.listByRun(run.id)).map((t) => [t.task_id, t.state, t.try_number]),
      [
        ["first", "success", 1],
        ["second", "success", 1],
      ],
    );
  });

  test("clearing finished tasks with their downstream runs them again with fresh retries", async () => {
    const cleared = await clearTaskInstances(database, {
      dagId: "pipeline",
      runId: "manual_1",
      taskRegex: "^total$",
      downstream: true,
    });
    assert.deepEqual(cleared.map((c) => c.taskId).sort(), [
      "after_skip",
      "cleanup",
      "flaky",
      "skip_me",
      "total",
    ]);
    assert.equal((await dagRunStore(database).get("pipeline", "manual_1"))?.state, "queued");
    const { scheduler, close } = start();
    await scheduler.start();
    assert.equal(await waitForRun("manual_1"), "success");
    await scheduler.stop();
    await close();
    const total = await taskInstanceStore(database).get({
      dagId: "pipeline",
      runId: "manual_1",
      taskId: "total",
    });
    assert.deepEqual(
      [total?.state, total?.try_number, total?.max_tries],
      ["success", 2, 1],
      "its one earlier try plus retries 0",
    );
    const extract = await taskInstanceStore(database).get({
      dagId: "pipeline",
      runId: "manual_1",
      taskId: "extract",
    });
    assert.equal(extract?.try_number, 1, "upstream of the cleared task is untouched");
  });

  test("clearing a running task stops its process group and runs it again", async () => {
    const marker = join(home, "long-marker");
    writeFileSync(
      join(home, "dags", "long.ts"),
      `import { dag, bash } from "updraft";
export default dag({ dagId: "long" }, () => { bash("wait", { command: "if [ -f ${marker} ]; then echo quick; else touch ${marker}; sleep 60; fi" }); });`,
    );
    await processDagFiles(config, database);
    const { scheduler, close } = start();
    await scheduler.start();
    await triggerDagRun(database, { dagId: "long", runId: "long_1" });
    const tis = taskInstanceStore(database);
    const key = { dagId: "long", runId: "long_1", taskId: "wait" };
    // Wait for the marker too: clearing before the first try's shell has touched it would leave
    // the second try to take the slow branch.
    for (let i = 0; i < 400 && ((await tis.get(key))?.state !== "running" || !existsSync(marker)); i++)
      await new Promise((r) => setTimeout(r, 25));
    await clearTaskInstances(database, { dagId: "long", runId: "long_1" });
    assert.equal((await tis.get(key))?.state, "restarting");
    const until = Date.now() + 20_000;
    while ((await dagRunStore(database).get("long", "long_1"))?.state !== "success" && Date.now() < until)
      await new Promise((r) => setTimeout(r, 50));
    await scheduler.stop();
    await close();
    const ti = await tis.get(key);
    assert.deepEqual([ti?.state, ti?.try_number], ["success", 2]);
    assert.match(logs.get("wait#2") ?? "", /quick/);
  });
});
