/** `dags test` run twice on one date: the second replaces the first with everything it recorded. */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { pino } from "pino";
import { loadConfig, type Config } from "../config/load.ts";
import { processDagFiles } from "../dag-processing/processor.ts";
import { createTaskFlowPool, createTaskRunnerDeps } from "../scheduler/runtime.ts";
import type { Database } from "../storage/database.ts";
import { forEachDatabase } from "../test-support/databases.ts";
import { driveRun, startTestRun } from "./test-run.ts";

const DAG = `import { dag, bash, task, chain } from "updraft";
export default dag({ dagId: "twice" }, () => {
  chain(bash("first", { command: "echo one" }), task("second", async () => 2)());
});`;

let home: string;
let config: Config;
before(() => {
  home = mkdtempSync(join(tmpdir(), "updraft-test-run-"));
  mkdirSync(join(home, "dags"));
  writeFileSync(join(home, "dags", "twice.ts"), DAG);
  config = loadConfig({ env: { UPDRAFT_HOME: home, UPDRAFT__CORE__LOAD_EXAMPLES: "false" } });
});
after(() => rmSync(home, { recursive: true, force: true }));

async function testOnce(database: Database) {
  const pool = createTaskFlowPool(config);
  const log = pino({ level: "silent" });
  try {
    const run = await startTestRun(database, {
      dagId: "twice",
      logicalDate: new Date("2025-05-01T00:00:00Z"),
    });
    const deps = createTaskRunnerDeps({ config, database, log }, pool);
    assert.equal(await driveRun(database, deps, run, { log, parallelism: 2 }), "success");
    return run;
  } finally {
    await pool.close();
  }
}

const count = async (database: Database, table: "task_instance" | "task_instance_history" | "xcom") =>
  Number(
    (
      await database.db
        .selectFrom(table)
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .where("dag_id", "=", "twice")
        .executeTakeFirstOrThrow()
    ).n,
  );

forEachDatabase("dags test", (get) => {
  test("a second test of the same date leaves no task instance, try or XCom of the first", async () => {
    const database = get();
    assert.equal((await processDagFiles(config, database)).importErrors, 0);
    const first = await testOnce(database);
    const tries = await count(database, "task_instance_history");
    const xcoms = await count(database, "xcom");
    assert.ok(tries >= 2, `the first test recorded its tries (${tries})`);
    const second = await testOnce(database);
    assert.notEqual(second.id, first.id);
    assert.equal(await count(database, "task_instance"), 2);
    assert.equal(await count(database, "task_instance_history"), tries, "only the second test's tries");
    assert.equal(await count(database, "xcom"), xcoms);
  });
});
