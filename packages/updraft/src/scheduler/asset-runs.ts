/**
 * Asset-triggered runs (Airflow's AssetTriggeredTimetable): a DAG whose queued asset events satisfy
 * its schedule condition gets one run, with those events attached, and its queue rows are deleted.
 * Candidates are read first; each DAG is then decided in one transaction that locks its row (SKIP
 * LOCKED, as scheduled runs are created: another scheduler moves on) and deletes the queue rows by
 * key: the run is created only when the DELETE removed every row it read, so under several
 * schedulers each event starts each consuming DAG once. Paused DAGs and maxActiveRuns are respected
 * as in create-runs.ts (a full DAG keeps its queue and runs later).
 */
import { randomBytes } from "node:crypto";
import { conditionLeaves, isSatisfied } from "../core/assets.ts";
import type { SerializedDag } from "../core/serialized.ts";
import { pythonIsoformat } from "../core/timetables/run-id.ts";
import type { Logger } from "../logging.ts";
import { aliasTargets, attachEvents, dagsWithQueuedEvents, queuedFor, takeQueue } from "../storage/assets.ts";
import type { Database } from "../storage/database.ts";
import { insertRunWithTasks } from "../storage/dag-runs.ts";
import { dagStore } from "../storage/dags.ts";
import { retrying } from "../storage/retry.ts";
import { ACTIVE_RUN_STATES, countRuns } from "../storage/sql/start-queued-runs.ts";

export async function createAssetTriggeredRuns(
  database: Database,
  o: { now: string; log: Logger },
): Promise<number> {
  let created = 0;
  for (const dagId of await dagsWithQueuedEvents(database.db)) {
    const dag = await dagStore(database).getSerialized(dagId);
    if (dag?.schedule?.kind !== "assets") continue;
    const runId = await retrying(() => createIfSatisfied(database, dag, o.now), {
      what: `creating an asset-triggered run of ${dagId}`,
      maxMs: 30_000,
    });
    if (runId) {
      created++;
      o.log.info({ dagId, runId }, "created asset-triggered run");
    }
  }
  return created;
}

/** Airflow 3's run id of a run without a logical date: the type, when it was created, a random suffix. */
export function assetRunId(now: string): string {
  return `asset_triggered__${pythonIsoformat(new Date(now))}_${randomBytes(4).toString("hex")}`;
}

async function createIfSatisfied(
  database: Database,
  dag: SerializedDag,
  now: string,
): Promise<string | null> {
  if (dag.schedule?.kind !== "assets") return null;
  const condition = dag.schedule.condition;
  return database.db.transaction().execute(async (trx) => {
    let q = trx
      .selectFrom("dag")
      .select("max_active_runs")
      .where("dag_id", "=", dag.dagId)
      .where("is_paused", "=", 0);
    if (database.adapter.capabilities.supportsSkipLocked) q = q.forUpdate().skipLocked();
    const row = await q.executeTakeFirst();
    if (!row) return null;
    const queued = await queuedFor(trx, dag.dagId);
    const targets = await aliasTargets(trx, conditionLeaves(condition).aliases);
    if (!isSatisfied(condition, new Set(queued.map((e) => e.uri)), targets)) return null;
    const active = await countRuns(trx, [dag.dagId], ACTIVE_RUN_STATES);
    if ((active.get(dag.dagId) ?? 0) >= row.max_active_runs) return null;
    const events = await takeQueue(trx, dag.dagId, queued);
    if (events === null) return null;
    const runId = assetRunId(now);
    const stamps = events.map((e) => e.timestamp).sort();
    // Airflow 3: no logical date; the data interval spans the events that started the run.
    const runRowId = await insertRunWithTasks(
      database,
      trx,
      {
        dag,
        runId,
        runType: "asset_triggered",
        logicalDate: null,
        dataIntervalStart: stamps[0] ?? now,
        dataIntervalEnd: stamps.at(-1) ?? now,
        runAfter: now,
        triggeredBy: "asset",
      },
      now,
    );
    await attachEvents(
      trx,
      runRowId,
      events.map((e) => e.id),
    );
    return runId;
  });
}
