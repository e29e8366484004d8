/** `isolation: "process"` gives each try of a TypeScript task a fresh process; by default a worker is reused. */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { pino } from "pino";
import { loadConfig, type Config } from "../config/load.ts";
import { processDagFiles } from "../dag-processing/processor.ts";
import { openDatabase, type Database } from "../storage/database.ts";
import { migrateDatabase } from "../storage/migrate.ts";
import { xcomStore } from "../storage/xcom.ts";
import { createTaskFlowPool, createTaskRunnerDeps } from "./runtime.ts";
import { driveRun } from "../operations/test-run.ts";
import { triggerDagRun } from "../operations/trigger-run.ts";

const dagFile = (dagId: string, isolation: string) => `import { dag, task } from "updraft";
const leave = task("leave", () => {
  const g = globalThis as { left?: string[] };
  const seen = { global: g.left ?? null, env: process.env.UPDRAFT_TEST_LEFT ?? null, pid: process.pid };
  g.left = [...(g.left ?? []), "${dagId}"];
  process.env.UPDRAFT_TEST_LEFT = "${dagId}";
  return seen;
}${isolation});
export default dag({ dagId: "${dagId}" }, () => {
  leave();
});`;

let home: string;
let config: Config;
let database: Database;
before(async () => {
  home = mkdtempSync(join(tmpdir(), "updraft-isolation-"));
  mkdirSync(join(home, "dags"));
  writeFileSync(join(home, "dags", "first.ts"), dagFile("first", ""));
  writeFileSync(join(home, "dags", "alone.ts"), dagFile("alone", ', { isolation: "process" }'));
  config = loadConfig({ env: { UPDRAFT_HOME: home, UPDRAFT__CORE__LOAD_EXAMPLES: "false" } });
  database = openDatabase(config.values.database.url);
  await migrateDatabase(database);
  assert.equal((await processDagFiles(config, database)).importErrors, 0);
});
after(async () => {
  await database.close();
  rmSync(home, { recursive: true, force: true });
});

test("isolation: process starts every try in a fresh process; a shared worker is reused", async () => {
  const pool = createTaskFlowPool(config);
  const log = pino({ level: "silent" });
  const deps = createTaskRunnerDeps({ config, database, log }, pool);
  const seen = async (dagId: string) => {
    const run = await triggerDagRun(database, { dagId });
    assert.equal(await driveRun(database, deps, run, { log, parallelism: 1 }), "success");
    return (await xcomStore(database).pull(run.id, "leave")) as {
      global: string[] | null;
      env: string | null;
      pid: number;
    };
  };
  try {
    const first = await seen("first");
    const again = await seen("first");
    assert.deepEqual(again.global, ["first"], "the shared worker is reused: it starts in milliseconds");
    assert.equal(again.pid, first.pid);
    const alone1 = await seen("alone");
    const alone2 = await seen("alone");
    assert.deepEqual([alone1.global, alone1.env], [null, null], "nothing another task left behind");
    assert.deepEqual([alone2.global, alone2.env], [null, null], "nor what its own previous try left");
    assert.notEqual(alone2.pid, alone1.pid);
    assert.notEqual(alone1.pid, first.pid);
  } finally {
    await pool.close();
  }
});
