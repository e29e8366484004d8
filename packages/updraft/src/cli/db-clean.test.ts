/**
 * `updraft db clean` and `db drop-archived` as a user runs them: the installed entry point (the built
 * dist/), a private UPDRAFT_HOME, no terminal on stdin, on each database.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { dagRunStore } from "../storage/dag-runs.ts";
import { childUrl, forEachDatabase } from "../test-support/databases.ts";
import { serializedDag, serializedTask } from "../test-support/serialized.ts";
import { assertBuilt, updraft, updraftHome } from "../test-support/service-process.ts";

assertBuilt();

const CLEAN = ["db", "clean", "--clean-before-timestamp", "2025-03-01"];

forEachDatabase("updraft db clean", (get) => {
  let home: ReturnType<typeof updraftHome>;
  const runs = async () =>
    (await get().db.selectFrom("dag_run").select("run_id").orderBy("run_id").execute()).map((r) => r.run_id);

  before(async () => {
    home = updraftHome(childUrl(get()));
    const store = dagRunStore(get());
    const dag = serializedDag("etl", [serializedTask("a")]);
    for (const [runId, end] of [
      ["jan", "2025-01-15T00:00:00.000Z"],
      ["feb", "2025-02-15T00:00:00.000Z"],
      ["apr", "2025-04-15T00:00:00.000Z"],
    ] as const) {
      const run = await store.create(
        {
          dag,
          runId,
          runType: "manual",
          logicalDate: end,
          dataIntervalStart: null,
          dataIntervalEnd: null,
          runAfter: end,
        },
        end,
      );
      await store.setState(run.id, "success", end);
    }
  });
  after(() => home.remove());

  test("a bad timestamp or table is refused, naming the flag or the tables there are", async () => {
    const badDate = await updraft([...CLEAN.slice(0, 3), "2025-02-30", "--dry-run"], home.env);
    assert.equal(badDate.code, 2, badDate.stderr);
    assert.match(badDate.stderr, /--clean-before-timestamp "2025-02-30" is not a timestamp/);
    const badTable = await updraft([...CLEAN, "--tables", "dag_run,runs", "--dry-run"], home.env);
    assert.equal(badTable.code, 2, badTable.stderr);
    assert.match(badTable.stderr, /"runs" is not a table db clean cleans: use dag_run, .*, log/);
  });

  test("--dry-run prints what would go and changes nothing; without a terminal, -y is required", async () => {
    const dry = await updraft([...CLEAN, "--dry-run", "-o", "json"], home.env);
    assert.equal(dry.code, 0, dry.stderr);
    assert.deepEqual(JSON.parse(dry.stdout), {
      dag_run: 2,
      task_instance: 2,
      task_instance_history: 0,
      task_reschedule: 0,
      xcom: 0,
      callback_request: 0,
      deadline: 0,
      dagrun_asset_event: 0,
      audit_log: 0,
      job: 0,
      asset_event: 0,
    });
    assert.match(dry.stderr, /Dry run: nothing was deleted/);
    const unasked = await updraft(CLEAN, home.env);
    assert.equal(unasked.code, 2);
    assert.match(unasked.stderr, /pass -y \(--yes\)/);
    assert.deepEqual(await runs(), ["apr", "feb", "jan"]);
  });

  test("-y deletes and archives; db drop-archived drops the archives", async () => {
    const clean = await updraft([...CLEAN, "-y", "--batch-size", "1", "-o", "json"], home.env);
    assert.equal(clean.code, 0, clean.stderr);
    assert.equal(JSON.parse(clean.stdout).dag_run, 2);
    assert.match(clean.stderr, /runs 2\/2 \(100%\)/);
    assert.match(clean.stderr, /archived to _updraft_archive_dag_run, _updraft_archive_task_instance/);
    assert.deepEqual(await runs(), ["apr"]);
    const dropped = await updraft(["db", "drop-archived", "-y", "-o", "json"], home.env);
    assert.equal(dropped.code, 0, dropped.stderr);
    assert.deepEqual(JSON.parse(dropped.stdout), [
      { table: "_updraft_archive_dag_run", rows: 2 },
      { table: "_updraft_archive_task_instance", rows: 2 },
      { table: "_updraft_archive_task_instance_history", rows: 0 },
      { table: "_updraft_archive_task_reschedule", rows: 0 },
      { table: "_updraft_archive_xcom", rows: 0 },
      { table: "_updraft_archive_callback_request", rows: 0 },
      { table: "_updraft_archive_deadline", rows: 0 },
      { table: "_updraft_archive_dagrun_asset_event", rows: 0 },
    ]);
    const none = await updraft(["db", "drop-archived", "-y"], home.env);
    assert.match(none.stderr, /No archive tables to drop/);
  });
});
