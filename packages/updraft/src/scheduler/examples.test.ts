/** Every bundled example DAG succeeds, run to the end by the task runner (as `dags test` does). */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { pino } from "pino";
import { loadConfig, type Config } from "../config/load.ts";
import { processDagFiles } from "../dag-processing/processor.ts";
import { createCipher } from "../secrets/cipher.ts";
import { openDatabase, type Database } from "../storage/database.ts";
import { dagStore } from "../storage/dags.ts";
import { migrateDatabase } from "../storage/migrate.ts";
import { createTaskFlowPool, createTaskRunnerDeps } from "./runtime.ts";
import { driveRun } from "../operations/test-run.ts";
import { dagRunAccess, triggerDagRun } from "../operations/trigger-run.ts";
import type { TaskRunnerDeps } from "../executor/run-task-instance.ts";
import type { Logger } from "../logging.ts";
import { TRIGGERS } from "../sdk/index.ts";
import type { DagRunRow } from "../storage/schema.ts";

describe("example DAGs", () => {
  let home: string;
  let config: Config;
  let database: Database;
  let dagIds: string[] = [];
  const taskflow = { pool: undefined as ReturnType<typeof createTaskFlowPool> | undefined };

  before(async () => {
    home = mkdtempSync(join(tmpdir(), "updraft-examples-"));
    // example_sql's connection, as its header says to give it.
    process.env.UPDRAFT_CONN_EXAMPLE_SQLITE = `sqlite:///${join(home, "example.db")}`;
    config = loadConfig({ env: { UPDRAFT_HOME: home } });
    database = openDatabase(config.values.database.url);
    await migrateDatabase(database);
    const summary = await processDagFiles(config, database);
    assert.equal(summary.importErrors, 0, JSON.stringify(await dagStore(database).importErrors()));
    dagIds = (await dagStore(database).list()).map((d) => d.dag_id);
    taskflow.pool = createTaskFlowPool(config);
  });
  after(async () => {
    await taskflow.pool?.close();
    await database.close();
    rmSync(home, { recursive: true, force: true });
  });

  test("there are examples, one idea each", () => {
    assert.ok(dagIds.length >= 8, dagIds.join(", "));
  });

  test("each one's run succeeds", async () => {
    const log = pino({ level: "silent" });
    const deps = createTaskRunnerDeps(
      {
        config,
        database,
        log,
        cipher: createCipher(config.values.security.encryption_key),
        dagRunAccess: dagRunAccess(database),
      },
      taskflow.pool!,
    );
    const outcomes: Record<string, string> = {};
    // Runs that other examples trigger are driven with the run that triggers them.
    const triggered = new Set(["example_triggered_report"]);
    for (const dagId of dagIds.filter((id) => !triggered.has(id))) {
      const run = await triggerDagRun(database, { dagId, logicalDate: new Date("2025-03-04T00:00:00Z") });
      outcomes[dagId] = await driveWithWaits(database, deps, run, log);
    }
    assert.deepEqual(
      outcomes,
      Object.fromEntries(dagIds.filter((id) => !triggered.has(id)).map((id) => [id, "success"])),
    );
    // example_sql ran its SQL on the connection given above, not only its "no connection" branch.
    const checked = await database.db
      .selectFrom("xcom")
      .select("value")
      .where("dag_id", "=", "example_sql")
      .where("task_id", "=", "check")
      .executeTakeFirst();
    assert.deepEqual(JSON.parse(checked?.value ?? "null"), {
      regions: ["south", "east"],
      total: 75,
      rows: 3,
    });
    const report = await database.db
      .selectFrom("dag_run")
      .select(["state", "triggered_by"])
      .where("dag_id", "=", "example_triggered_report")
      .execute();
    assert.deepEqual(
      report.map((r) => ({ ...r })),
      [{ state: "success", triggered_by: "operator" }],
    );
  });
});

/**
 * Drives a run as `dags test` does, and with it the runs its tasks trigger (triggerDagRun); stands
 * ahead of the test run's own triggerer by firing the time triggers of deferred tasks at once (with
 * their moment as the event, as DateTimeTrigger does) instead of after their wait.
 */
async function driveWithWaits(
  database: Database,
  deps: TaskRunnerDeps,
  run: DagRunRow,
  log: Logger,
): Promise<string> {
  const driven = new Set([run.id]);
  const children: Promise<string>[] = [];
  let done = false;
  const follow = (async () => {
    while (!done) {
      const started = await database.db
        .selectFrom("dag_run")
        .selectAll()
        .where("triggered_by", "=", "operator")
        .execute();
      for (const r of started.filter((r) => !driven.has(r.id))) {
        driven.add(r.id);
        children.push(driveRun(database, deps, r, { log, parallelism: 8 }));
      }
      // Ahead of the test run's triggerer, which would wait for the moment.
      await fireTimeTriggers(database, run);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  try {
    return await driveRun(database, deps, run, { log, parallelism: 8 });
  } finally {
    done = true;
    await follow;
    await Promise.all(children);
  }
}

/** What a triggerer does when a DateTimeTrigger fires: the task instance resumes, same try. */
async function fireTimeTriggers(database: Database, run: DagRunRow): Promise<boolean> {
  const waiting = await database.db
    .selectFrom("task_instance as ti")
    .innerJoin("trigger as t", "t.id", "ti.trigger_id")
    .select(["ti.task_id", "ti.map_index", "t.id", "t.classpath", "t.kwargs"])
    .where("ti.dag_run_id", "=", run.id)
    .where("ti.state", "=", "deferred")
    .execute();
  for (const w of waiting) {
    assert.equal(w.classpath, TRIGGERS.dateTime, "the examples defer on time triggers only");
    const event = (JSON.parse(w.kwargs) as { moment: string }).moment;
    await database.db
      .updateTable("task_instance")
      .set((eb) => ({
        state: "scheduled",
        next_method: "resume",
        next_kwargs: JSON.stringify({ event }),
        trigger_id: null,
        trigger_timeout: null,
        try_number: eb("try_number", "-", 1),
      }))
      .where("dag_run_id", "=", run.id)
      .where("task_id", "=", w.task_id)
      .where("map_index", "=", w.map_index)
      .where("state", "=", "deferred")
      .execute();
    await database.db.deleteFrom("trigger").where("id", "=", w.id).execute();
  }
  return waiting.length > 0;
}
