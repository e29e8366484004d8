/**
 * Several schedulers (each its own connection pool) starting queued runs at the same moment never
 * start more runs of a DAG than its maxActiveRuns (issue 12: exceeded in 29 of 30 trials).
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { pino } from "pino";
import type { SerializedDag } from "../core/serialized.ts";
import type { Database } from "../storage/database.ts";
import { dagRunStore } from "../storage/dag-runs.ts";
import { dagStore } from "../storage/dags.ts";
import { forEachDatabase } from "../test-support/databases.ts";
import { serializedDag, serializedTask } from "../test-support/serialized.ts";
import { closeAll, openSiblings } from "../test-support/sibling-databases.ts";
import { examineRuns } from "./examine-runs.ts";

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
