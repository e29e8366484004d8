/**
 * Several schedulers (each its own connection pool) starting queued runs at the same moment never
 * start more runs of a DAG than its maxActiveRuns (issue 12: exceeded in 29 of 30 trials); under
 * load (whole iterations at once, tasks finishing) no deadlock reaches an iteration and no cap breaks.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { setTimeout } from "node:timers/promises";
import { pino } from "pino";
import type { SerializedDag } from "../core/serialized.ts";
import type { Executor } from "../executor/executor.ts";
import type { Database } from "../storage/database.ts";
import { dagRunStore } from "../storage/dag-runs.ts";
import { dagStore } from "../storage/dags.ts";
import { poolStore } from "../storage/pools.ts";
import type { ClaimedTaskInstance } from "../storage/sql/claim-task-instances.ts";
import { taskInstanceStore } from "../storage/task-instances.ts";
import { forEachDatabase } from "../test-support/databases.ts";
import { serializedDag, serializedTask } from "../test-support/serialized.ts";
import { closeAll, openSiblings } from "../test-support/sibling-databases.ts";
import { examineRuns } from "./examine-runs.ts";
import { Scheduler } from "./scheduler.ts";

const SCHEDULERS = 3;
const TRIALS = 30;
const log = pino({ level: "silent" });

const capped = (dagId: string, maxActiveRuns: number): SerializedDag =>
  serializedDag(dagId, [serializedTask("only")], { maxActiveRuns });

async function addDag(database: Database, dag: SerializedDag) {
  await dagStore(database).syncFile(
    { fileloc: dag.fileloc, contentHash: dag.dagId, durationMs: 1, dags: [dag], errors: [] },
    { pausedAtCreation: false },
  );
}

async function queueRuns(database: Database, dag: SerializedDag, trial: number, count: number) {
  for (let i = 0; i < count; i++)
    await dagRunStore(database).create({
      dag,
      runId: `t${trial}_${i}`,
      runType: "manual",
      logicalDate: null,
      dataIntervalStart: null,
      dataIntervalEnd: null,
      runAfter: new Date(Date.UTC(2025, 0, 1, 0, 0, i)).toISOString(),
    });
}

async function runningOf(database: Database, dagId: string): Promise<string[]> {
  const rows = await database.db
    .selectFrom("dag_run")
    .select("run_id")
    .where("dag_id", "=", dagId)
    .where("state", "=", "running")
    .orderBy("run_id")
    .execute();
  return rows.map((r) => r.run_id);
}

forEachDatabase("maxActiveRuns with several schedulers", (get) => {
  let schedulers: Database[] = [];
  before(async () => {
    schedulers = await openSiblings(get(), SCHEDULERS);
  });
  after(() => closeAll(schedulers));

  test(`${SCHEDULERS} schedulers starting queued runs at once, ${TRIALS} trials`, async () => {
    const one = capped("one_at_a_time", 1);
    const two = capped("two_at_a_time", 2);
    await addDag(get(), one);
    await addDag(get(), two);
    const over: string[] = [];
    for (let trial = 0; trial < TRIALS; trial++) {
      await get().db.deleteFrom("dag_run").execute();
      await queueRuns(get(), one, trial, 4);
      await queueRuns(get(), two, trial, 4);
      const now = new Date(Date.UTC(2025, 0, 2, 0, 0, trial)).toISOString();
      await Promise.all(
        schedulers.map((database) => examineRuns(database, { now, log, cancel: () => false })),
      );
      const [a, b] = [await runningOf(get(), one.dagId), await runningOf(get(), two.dagId)];
      if (a.length > 1 || b.length > 2) over.push(`trial ${trial}: ${a.length} and ${b.length} running`);
      // Oldest first, and each DAG filled up to its cap.
      else assert.deepEqual([a, b], [[`t${trial}_0`], [`t${trial}_0`, `t${trial}_1`]], `trial ${trial}`);
    }
    assert.deepEqual(over, [], `maxActiveRuns exceeded in ${over.length} of ${TRIALS} trials`);
  });
});

/** Runs each claimed task instance at once in this process: queued -> running -> success. */
function instantExecutor(database: Database, slots: number): Executor {
  const inFlight = new Map<string, ClaimedTaskInstance>();
  const listeners: ((ti: ClaimedTaskInstance) => void)[] = [];
  const tis = taskInstanceStore(database);
  const run = async (ti: ClaimedTaskInstance & { owner: number }) => {
    const key = { dagId: ti.dagId, runId: ti.runId, taskId: ti.taskId, mapIndex: ti.mapIndex };
    if (await tis.startTry(key, ti.owner, { start_date: new Date().toISOString() }))
      await tis.transition(key, "running", "success", { end_date: new Date().toISOString() });
  };
  return {
    name: "instant",
    freeSlots: () => slots - inFlight.size,
    execute(ti) {
      const id = `${ti.dagRunId}/${ti.taskId}`;
      inFlight.set(id, ti);
      void run(ti).finally(() => {
        inFlight.delete(id);
        for (const listener of listeners) listener(ti);
      });
    },
    onFinished: (listener) => void listeners.push(listener),
    running: () => [...inFlight.values()],
    cancel: () => false,
    stop: async () => undefined,
  };
}

const fanOut = (dagId: string, extra: Partial<SerializedDag>, pool = "default_pool"): SerializedDag =>
  serializedDag(
    dagId,
    [
      serializedTask("start"),
      ...Array.from({ length: 6 }, (_, i) => serializedTask(`fan_${i}`, ["start"], { pool })),
      serializedTask(
        "end",
        Array.from({ length: 6 }, (_, i) => `fan_${i}`),
      ),
    ],
    extra,
  );

/** What the caps allow at most, read from the database as it is now. */
async function overCaps(database: Database): Promise<string[]> {
  const runs = await database.db
    .selectFrom("dag_run")
    .select(["dag_id"])
    .where("state", "=", "running")
    .execute();
  const tis = await database.db
    .selectFrom("task_instance")
    .select(["dag_id", "pool"])
    .where("state", "in", ["queued", "running"])
    .execute();
  const count = <T>(rows: T[], pick: (r: T) => boolean) => rows.filter(pick).length;
  const over: string[] = [];
  if (count(runs, (r) => r.dag_id === "load_runs") > 2) over.push("load_runs: maxActiveRuns 2");
  if (count(tis, (t) => t.dag_id === "load_tasks") > 3) over.push("load_tasks: maxActiveTasks 3");
  if (count(tis, (t) => t.pool === "load_pool") > 2) over.push("load_pool: 2 slots");
  if (tis.length > 10) over.push(`parallelism 10: ${tis.length}`);
  return over;
}

forEachDatabase("several schedulers under load", (get) => {
  let databases: Database[] = [];
  before(async () => {
    databases = await openSiblings(get(), SCHEDULERS, 3);
  });
  after(() => closeAll(databases));

  test(`${SCHEDULERS} schedulers iterating at once until 18 runs succeed`, async () => {
    await poolStore(get()).set({ name: "load_pool", slots: 2 });
    const dags = [
      fanOut("load_runs", { maxActiveRuns: 2 }),
      fanOut("load_tasks", { maxActiveTasks: 3 }),
      fanOut("load_pooled", {}, "load_pool"),
    ];
    for (const dag of dags) {
      await addDag(get(), dag);
      await queueRuns(get(), dag, 0, 6);
    }
    const failures: string[] = [];
    const errors = pino({ level: "error" }, { write: (line: string) => void failures.push(line) });
    const schedulers = databases.map(
      (database) =>
        new Scheduler({
          database,
          executor: instantExecutor(database, 4),
          log: errors,
          loopIntervalMs: 20,
          parallelism: 10,
          heartbeatTimeout: 30,
          gracefulShutdownMs: 0,
        }),
    );
    const unfinished = async () =>
      (await get().db.selectFrom("dag_run").select("id").where("state", "!=", "success").execute()).length;
    for (const scheduler of schedulers) await scheduler.start();
    const over = new Set<string>();
    const deadline = Date.now() + 60_000;
    while ((await unfinished()) > 0 && Date.now() < deadline) {
      for (const o of await overCaps(get())) over.add(o);
      await setTimeout(5); // node:sqlite answers synchronously: let the schedulers' timers run
    }
    await Promise.all(schedulers.map((s) => s.stop()));
    assert.deepEqual(failures, [], "no iteration failed");
    assert.deepEqual([...over], [], "no cap exceeded");
    assert.equal(await unfinished(), 0, "every run succeeded");
  });
});
