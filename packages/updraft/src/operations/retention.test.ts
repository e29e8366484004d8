/** `[database] retention_days`: the scheduler's pass deletes old finished runs, one scheduler at a time. */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, test } from "node:test";
import { pino } from "pino";
import { loadConfig } from "../config/load.ts";
import type { RunState } from "../core/states.ts";
import type { Database } from "../storage/database.ts";
import { dagRunStore } from "../storage/dag-runs.ts";
import { leaseStore } from "../storage/leases.ts";
import { forEachDatabase } from "../test-support/databases.ts";
import { serializedDag, serializedTask } from "../test-support/serialized.ts";
import { listArchives } from "./db-clean.ts";
import { RETENTION_LEASE, applyRetention, startRetention } from "./retention.ts";

const NOW = Date.parse("2025-04-01T00:00:00.000Z");
const day = (month: number, d: number) => new Date(Date.UTC(2025, month - 1, d)).toISOString();

async function seed(database: Database): Promise<void> {
  const store = dagRunStore(database);
  const dag = serializedDag("etl", [serializedTask("a"), serializedTask("b", ["a"])]);
  const runs: [string, RunState, string][] = [
    ["old_ok", "success", day(1, 1)],
    ["old_failed", "failed", day(1, 2)],
    ["old_running", "running", day(1, 3)],
    ["recent", "success", day(3, 30)],
  ];
  for (const [runId, state, at] of runs) {
    const run = await store.create(
      {
        dag,
        runId,
        runType: "manual",
        logicalDate: at,
        dataIntervalStart: null,
        dataIntervalEnd: null,
        runAfter: at,
      },
      at,
    );
    await store.setState(run.id, state, at);
  }
}

const runIds = async (database: Database) =>
  (await database.db.selectFrom("dag_run").select("run_id").orderBy("run_id").execute()).map((r) => r.run_id);
const taskInstances = async (database: Database) =>
  (await database.db.selectFrom("task_instance").select("run_id").execute()).length;

forEachDatabase("metadata retention", (get) => {
  // One seed, for the tests in their order: the first deletes nothing, the second what is old.
  before(() => seed(get()));

  test("a shutdown before the first batch deletes nothing", async () => {
    const stopped = AbortSignal.abort();
    const counts = await applyRetention({
      database: get(),
      retentionDays: 30,
      holder: "a",
      now: () => NOW,
      signal: stopped,
    });
    assert.equal(counts?.dag_run, 0);
    assert.deepEqual(await runIds(get()), ["old_failed", "old_ok", "old_running", "recent"]);
    await leaseStore(get()).release(RETENTION_LEASE, "a");
  });

  test("old finished runs go with their task instances, unarchived; one scheduler per hour does it", async () => {
    const pass = (holder: string, now = NOW) =>
      applyRetention({ database: get(), retentionDays: 30, holder, now: () => now, pauseMs: 0 });
    const counts = await pass("a");
    assert.deepEqual(counts, {
      dag_run: 2,
      task_instance: 4,
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
    assert.deepEqual(await runIds(get()), ["old_running", "recent"]);
    assert.equal(await taskInstances(get()), 4);
    assert.deepEqual(await listArchives(get()), []);
    // The lease holds the other schedulers off for an hour; then any of them may pass.
    assert.equal(await pass("b", NOW + 30 * 60_000), null);
    assert.deepEqual(await pass("b", NOW + 61 * 60_000), { ...counts, dag_run: 0, task_instance: 0 });
  });

  test("the service's timers stop with it (a timer left behind would keep the process alive)", async () => {
    const home = mkdtempSync(join(tmpdir(), "updraft-retention-"));
    try {
      const config = loadConfig({ env: { UPDRAFT_HOME: home, UPDRAFT__DATABASE__RETENTION_DAYS: "30" } });
      assert.equal(config.values.database.retention_days, 30);
      const service = startRetention({ config, database: get(), log: pino({ level: "silent" }) });
      await service.stop();
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
