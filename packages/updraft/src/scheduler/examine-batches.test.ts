/**
 * Full examinations go a batch of runs per transaction (their rows locked in one statement, their task
 * instances read in one); a run whose examination the database refuses is named in the log and the
 * others are examined all the same.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { sql } from "kysely";
import { pino } from "pino";
import type { Database } from "../storage/database.ts";
import { dagRunStore } from "../storage/dag-runs.ts";
import { dagStore } from "../storage/dags.ts";
import { forEachDatabase } from "../test-support/databases.ts";
import { serializedDag, serializedTask } from "../test-support/serialized.ts";
import { examineRuns } from "./examine-runs.ts";

async function runningRuns(database: Database, dagId: string, count: number): Promise<number[]> {
  const dag = serializedDag(dagId, [serializedTask("first"), serializedTask("second", ["first"])]);
  await dagStore(database).syncFile(
    { fileloc: dag.fileloc, contentHash: dag.dagId, durationMs: 1, dags: [dag], errors: [] },
    { pausedAtCreation: false },
  );
  const ids: number[] = [];
  for (let i = 0; i < count; i++) {
    const run = await dagRunStore(database).create({
      dag,
      runId: `r${i}`,
      runType: "manual",
      logicalDate: null,
      dataIntervalStart: null,
      dataIntervalEnd: null,
      runAfter: "2025-01-01T00:00:00.000Z",
    });
    ids.push(run.id);
  }
  await database.db
    .updateTable("dag_run")
    .set({ state: "running", start_date: "2025-01-01T00:00:00.000Z" })
    .where("id", "in", ids)
    .execute();
  return ids;
}

/** A database trigger that refuses every change to one run's row, whoever makes it. */
async function refuseUpdatesOf(database: Database, runId: number): Promise<() => Promise<void>> {
  switch (database.adapter.name) {
    case "sqlite":
      await sql
        .raw(
          `CREATE TRIGGER refuse_run BEFORE UPDATE ON dag_run WHEN OLD.id = ${runId} BEGIN SELECT RAISE(ABORT, 'this run is refused'); END`,
        )
        .execute(database.db);
      return async () => void (await sql.raw("DROP TRIGGER refuse_run").execute(database.db));
    case "postgres":
      await sql
        .raw(
          `CREATE FUNCTION refuse_run() RETURNS trigger AS $$ BEGIN IF OLD.id = ${runId} THEN RAISE EXCEPTION 'this run is refused'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql`,
        )
        .execute(database.db);
      await sql
        .raw("CREATE TRIGGER refuse_run BEFORE UPDATE ON dag_run FOR EACH ROW EXECUTE FUNCTION refuse_run()")
        .execute(database.db);
      return async () => {
        await sql.raw("DROP TRIGGER refuse_run ON dag_run").execute(database.db);
        await sql.raw("DROP FUNCTION refuse_run()").execute(database.db);
      };
    case "mysql":
      await sql
        .raw(
          `CREATE TRIGGER refuse_run BEFORE UPDATE ON dag_run FOR EACH ROW BEGIN IF OLD.id = ${runId} THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'this run is refused'; END IF; END`,
        )
        .execute(database.db);
      return async () => void (await sql.raw("DROP TRIGGER refuse_run").execute(database.db));
  }
}

function recordingLog() {
  const errors: Record<string, unknown>[] = [];
  const log = pino({ level: "error" }, { write: (line: string) => void errors.push(JSON.parse(line)) });
  return { log, errors };
}

forEachDatabase("full examinations in batches", (get) => {
  test("a batch of runs is examined in a few statements, not several per run", async () => {
    const database = get();
    const ids = await runningRuns(database, "batched", 30);
    const before = database.statements();
    await examineRuns(database, {
      now: "2025-01-01T00:00:01.000Z",
      log: pino({ level: "silent" }),
      cancel: () => false,
    });
    const spent = database.statements() - before;
    const firsts = await database.db
      .selectFrom("task_instance")
      .select(["dag_run_id", "state"])
      .where("dag_run_id", "in", ids)
      .where("task_id", "=", "first")
      .execute();
    assert.equal(firsts.length, 30);
    assert.ok(
      firsts.every((f) => f.state === "scheduled"),
      "every run's first task is scheduled",
    );
    // Per run: its ready tasks scheduled and its decision written; the lock, the read and the
    // transaction are shared by the batch.
    assert.ok(spent < 30 * 3, `${spent} statements for 30 runs`);
  });

  test("a run the database refuses is named in the log; the runs after it are examined", async () => {
    const database = get();
    const ids = await runningRuns(database, "refusing", 5);
    const refused = ids[1]!;
    const allow = await refuseUpdatesOf(database, refused);
    const { log, errors } = recordingLog();
    try {
      await examineRuns(database, { now: "2025-01-01T00:00:01.000Z", log, cancel: () => false });
    } finally {
      await allow();
    }
    const decided = await database.db
      .selectFrom("dag_run")
      .select(["id", "last_scheduling_decision"])
      .where("id", "in", ids)
      .orderBy("id")
      .execute();
    for (const run of decided)
      if (run.id === refused) assert.equal(run.last_scheduling_decision, null);
      else
        assert.equal(run.last_scheduling_decision, "2025-01-01T00:00:01.000Z", `run ${run.id} was examined`);
    const scheduled = await database.db
      .selectFrom("task_instance")
      .select("dag_run_id")
      .where("dag_run_id", "in", ids)
      .where("state", "=", "scheduled")
      .execute();
    assert.deepEqual(
      scheduled.map((s) => s.dag_run_id).sort((a, b) => a - b),
      ids.filter((id) => id !== refused),
      "the refused run's changes were rolled back with it; the others' are in",
    );
    assert.equal(errors.length, 1, "one error, for the refused run");
    assert.equal(errors[0]!.dagRunId, refused);
    assert.equal(errors[0]!.dagId, "refusing");
    assert.match(String(errors[0]!.msg), /examining a run failed/);
  });
});
