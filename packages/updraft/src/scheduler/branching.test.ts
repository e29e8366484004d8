/** Branching and short-circuit tasks, run for real: what they skip, and how skips propagate. */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { pino } from "pino";
import { loadConfig, type Config } from "../config/load.ts";
import { processDagFiles } from "../dag-processing/processor.ts";
import { openDatabase, type Database } from "../storage/database.ts";
import { migrateDatabase } from "../storage/migrate.ts";
import { taskInstanceStore } from "../storage/task-instances.ts";
import { xcomStore } from "../storage/xcom.ts";
import { createTaskFlowPool, createTaskRunnerDeps } from "./runtime.ts";
import { driveRun } from "../operations/test-run.ts";
import { triggerDagRun } from "../operations/trigger-run.ts";

const DAG = `import { dag, branch, shortCircuit, empty, chain, getCurrentContext } from "updraft";
export default dag({ dagId: "choices", params: { pick: "left" } }, () => {
  // TaskFlow arguments are values, not templates: the run's params come from the context.
  const pick = branch("pick", () => getCurrentContext<{ params: { pick: string } }>().params.pick)();
  const left = empty("left");
  const right = empty("right");
  const join = empty("join", { triggerRule: "none_failed_min_one_success" });
  chain(pick, [left, right], join);

  const gate = shortCircuit("gate", () => 0)();
  chain(gate, empty("gated_1"), empty("gated_2", { triggerRule: "all_done" }));

  const soft = shortCircuit("soft_gate", () => "", { ignoreDownstreamTriggerRules: false })();
  chain(soft, empty("soft_1"), empty("soft_2", { triggerRule: "all_done" }));

  const open = shortCircuit("open_gate", () => true)();
  chain(open, empty("opened"));

  const wrong = branch("wrong", () => "nowhere")();
  chain(wrong, empty("after_wrong"));
});`;

describe("branching", () => {
  let home: string;
  let config: Config;
  let database: Database;
  before(async () => {
    home = mkdtempSync(join(tmpdir(), "updraft-branch-"));
    mkdirSync(join(home, "dags"));
    writeFileSync(join(home, "dags", "choices.ts"), DAG);
    config = loadConfig({ env: { UPDRAFT_HOME: home, UPDRAFT__CORE__LOAD_EXAMPLES: "false" } });
    database = openDatabase(config.values.database.url);
    await migrateDatabase(database);
    assert.equal((await processDagFiles(config, database)).importErrors, 0);
  });
  after(async () => {
    await database.close();
    rmSync(home, { recursive: true, force: true });
  });

  test("branch follows what it returns; short-circuits skip all after them or only the next task", async () => {
    const pool = createTaskFlowPool(config);
    const log = pino({ level: "silent" });
    const deps = createTaskRunnerDeps({ config, database, log }, pool);
    const run = await triggerDagRun(database, { dagId: "choices", conf: { pick: "right" } });
    const state = await driveRun(database, deps, run, { log, parallelism: 4 });
    await pool.close();
    const states = Object.fromEntries(
      (await taskInstanceStore(database).listByRun(run.id)).map((t) => [t.task_id, t.state]),
    );
    assert.deepEqual(states, {
      pick: "success",
      left: "skipped",
      right: "success",
      join: "success",
      gate: "success",
      gated_1: "skipped",
      gated_2: "skipped",
      soft_gate: "success",
      soft_1: "skipped",
      soft_2: "success",
      open_gate: "success",
      opened: "success",
      wrong: "failed",
      after_wrong: "upstream_failed",
    });
    assert.equal(state, "failed", "the wrong branch fails the run");
    assert.equal(await xcomStore(database).pull(run.id, "pick"), "right");
  });
});
