/**
 * DAG runs and the task instances created with them. A run and all its task instances are written
 * in one transaction; the unique (dag_id, run_id) key makes a second scheduler's attempt to create
 * the same run fail instead of duplicating it.
 */
import { sql, type Kysely, type RawBuilder, type Transaction } from "kysely";
import { UpdraftError } from "../core/errors.ts";
import { priorityWeights } from "../core/graph.ts";
import { isRunFinished, RUN_STATES, type RunState } from "../core/states.ts";
import type { SerializedDag } from "../core/serialized.ts";
import { insertDeadlines } from "./callbacks.ts";
import { versionIdForHash } from "./dag-versions.ts";
import { dagHash } from "./dags.ts";
import type { Database } from "./database.ts";
import { nowIso } from "./database.ts";
import type { DagRunRow, Tables } from "./schema.ts";

const ACTIVE_RUN_STATES: readonly RunState[] = ["queued", "running"];

export const RUN_TYPES = ["scheduled", "manual", "backfill", "asset_triggered"] as const;
export type RunType = (typeof RUN_TYPES)[number];

export interface NewRun {
  dag: SerializedDag;
  runId: string;
  runType: RunType;
  logicalDate: string | null;
  dataIntervalStart: string | null;
  dataIntervalEnd: string | null;
  runAfter: string;
  conf?: Record<string, unknown>;
  triggeredBy?: string;
  state?: "queued" | "running";
  note?: string | null;
  /** The backfill it belongs to (its queued runs start within the backfill's max_active_runs). */
  backfillId?: number;
}

type Db = Kysely<Tables> | Transaction<Tables>;

/** Inserts the run and its task instances with `trx`: callers that decide more in the same transaction use this. */
export async function insertRunWithTasks(
  database: Database,
  trx: Db,
  run: NewRun,
  now: string,
): Promise<number> {
  const hash = dagHash(run.dag);
  // The version the run starts with and keeps (ADR.md S16); null for a DAG never stored.
  const versionId = await versionIdForHash(trx, run.dag.dagId, hash);
  const runRowId = await insertRun(database, trx, run, { now, hash, versionId });
  await insertTaskInstances(trx, run.dag, runRowId, run.runId, { now, hash, versionId });
  // Its deadlines (Airflow's DeadlineAlert) are the run's from its creation: queued_at is `now`.
  const ref = { id: runRowId, dag_id: run.dag.dagId, run_id: run.runId };
  await insertDeadlines(trx, run.dag, { ...ref, logicalDate: run.logicalDate, queuedAt: now }, now);
  return runRowId;
}

/** What every row of a new run is written with. */
interface RunStamp {
  now: string;
  hash: string;
  versionId: string | null;
}

async function insertRun(database: Database, trx: Db, run: NewRun, stamp: RunStamp): Promise<number> {
  const { now, hash } = stamp;
  const row = {
    dag_id: run.dag.dagId,
    run_id: run.runId,
    logical_date: run.logicalDate,
    data_interval_start: run.dataIntervalStart,
    data_interval_end: run.dataIntervalEnd,
    run_after: run.runAfter,
    queued_at: now,
    start_date: null,
    end_date: null,
    state: run.state ?? "queued",
    run_type: run.runType,
    triggered_by: run.triggeredBy ?? null,
    conf: JSON.stringify(run.conf ?? {}),
    dag_hash: hash,
    created_dag_version_id: stamp.versionId,
    note: run.note ?? null,
    last_scheduling_decision: null,
    updated_at: now,
    ...(run.backfillId !== undefined ? { backfill_id: run.backfillId } : {}),
  };
  const insert = trx.insertInto("dag_run").values(row);
  if (database.adapter.capabilities.supportsReturning) {
    return (await insert.returning("id").executeTakeFirstOrThrow()).id;
  }
  return Number((await insert.executeTakeFirstOrThrow()).insertId);
}

async function insertTaskInstances(
  trx: Db,
  dag: SerializedDag,
  runRowId: number,
  runId: string,
  { now, versionId }: RunStamp,
) {
  const weights = priorityWeights(dag);
  const rows = dag.tasks.map((task) => ({
    dag_id: dag.dagId,
    run_id: runId,
    task_id: task.taskId,
    map_index: -1,
    dag_run_id: runRowId,
    state: null,
    try_number: 0,
    max_tries: task.retries,
    operator: task.kind,
    pool: task.pool,
    pool_slots: task.poolSlots,
    queue: task.queue,
    priority_weight: weights.get(task.taskId) ?? task.priorityWeight,
    updated_at: now,
    dag_version_id: versionId,
  }));
  // Batches keep each statement under every database's bound-parameter limit.
  for (let i = 0; i < rows.length; i += 200)
    await trx
      .insertInto("task_instance")
      .values(rows.slice(i, i + 200))
      .execute();
}

/** Columns a state change may set with the state (never the state itself: that is `to`). */
export interface RunPatch {
  start_date?: string | null | RawBuilder<string>;
  end_date?: string | null;
  queued_at?: string | null;
  last_scheduling_decision?: string | null;
  /** The state a user marked the run with while its teardowns run (operations/mark-run.ts). */
  marked_state?: "success" | "failed" | null;
}

/** The dates that go with entering `state` by hand (Airflow's DagRun.set_state). */
export function datesFor(state: RunState, now: string): RunPatch {
  if (isRunFinished(state)) return { end_date: now };
  // Queued again: it waits in the queue from now. Running: the first start date is kept.
  if (state === "queued") return { end_date: null, queued_at: now };
  return { end_date: null, start_date: sql<string>`coalesce(start_date, ${now})` };
}

export function dagRunStore(database: Database) {
  const { db } = database;
  return {
    /** Creates the run and a task instance per task; throws ALREADY_EXISTS when the run id is taken. */
    async create(run: NewRun, now = nowIso()): Promise<DagRunRow> {
      try {
        const id = await db.transaction().execute((trx) => insertRunWithTasks(database, trx, run, now));
        return await db.selectFrom("dag_run").selectAll().where("id", "=", id).executeTakeFirstOrThrow();
      } catch (error) {
        if (await this.get(run.dag.dagId, run.runId)) {
          throw new UpdraftError(
            "ALREADY_EXISTS",
            `dag "${run.dag.dagId}" already has a run "${run.runId}": choose another run id`,
            { cause: error },
          );
        }
        throw error;
      }
    },

    async get(dagId: string, runId: string): Promise<DagRunRow | undefined> {
      return db
        .selectFrom("dag_run")
        .selectAll()
        .where("dag_id", "=", dagId)
        .where("run_id", "=", runId)
        .executeTakeFirst();
    },

    async list(
      filter: { dagId?: string; states?: string[]; limit?: number; offset?: number } = {},
    ): Promise<DagRunRow[]> {
      let q = db.selectFrom("dag_run").selectAll();
      if (filter.dagId) q = q.where("dag_id", "=", filter.dagId);
      if (filter.states?.length) q = q.where("state", "in", filter.states);
      return q
        .orderBy("run_after", "desc")
        .orderBy("id", "desc")
        .limit(filter.limit ?? 100)
        .offset(filter.offset ?? 0)
        .execute();
    },

    async countActive(dagId: string): Promise<number> {
      const row = await db
        .selectFrom("dag_run")
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .where("dag_id", "=", dagId)
        .where("state", "in", ACTIVE_RUN_STATES)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },

    /** The newest run of a DAG created by the scheduler: where its timetable carries on from. */
    async lastScheduled(dagId: string): Promise<DagRunRow | undefined> {
      return db
        .selectFrom("dag_run")
        .selectAll()
        .where("dag_id", "=", dagId)
        .where("run_type", "in", ["scheduled", "backfill"])
        .where("data_interval_end", "is not", null)
        .orderBy("data_interval_end", "desc")
        .limit(1)
        .executeTakeFirst();
    },

    /**
     * The only writer of a run's state: moves run `id` to `to` only if it is still in `from` (one
     * state or several), with `patch` in the same statement. False when another process moved it
     * first; its state then stands (the caller reads the run again if it cares).
     */
    async transition(
      id: number,
      from: RunState | readonly RunState[],
      to: RunState,
      patch: RunPatch = {},
      now = nowIso(),
    ): Promise<boolean> {
      const froms: readonly RunState[] = typeof from === "string" ? [from] : from;
      // The duration goes with the end: computed from the stored start as the end is written.
      const duration =
        patch.end_date === undefined
          ? {}
          : {
              duration:
                patch.end_date === null
                  ? null
                  : database.adapter.secondsBetween(sql.ref("start_date"), sql.val(patch.end_date)),
            };
      // Queued again (cleared, marked queued): the run decides its own outcome afresh.
      const marked = to === "queued" ? { marked_state: null } : {};
      const result = await db
        .updateTable("dag_run")
        .set({ ...marked, ...patch, ...duration, state: to, updated_at: now })
        .where("id", "=", id)
        .where("state", "in", froms)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    /**
     * Sets a run's state whatever it was (Airflow's DagRun.set_state), with the dates that go with it:
     * finished runs get an end date, a running one its first start date, a queued one waits from now.
     * For tests and seeding: code that moves a run says which state it expects, with `transition`.
     */
    async setState(id: number, state: RunState, now = nowIso()): Promise<void> {
      await this.transition(id, RUN_STATES, state, datesFor(state, now), now);
    },

    /** The run a depends-on-past task looks back at: the DAG's latest run by logical date before `run`'s. */
    async previous(run: Pick<DagRunRow, "dag_id" | "logical_date">): Promise<DagRunRow | undefined> {
      if (run.logical_date === null) return undefined;
      return db
        .selectFrom("dag_run")
        .selectAll()
        .where("dag_id", "=", run.dag_id)
        .where("logical_date", "<", run.logical_date)
        .orderBy("logical_date", "desc")
        .limit(1)
        .executeTakeFirst();
    },

    async setNote(id: number, note: string | null, now = nowIso()): Promise<void> {
      await db.updateTable("dag_run").set({ note, updated_at: now }).where("id", "=", id).execute();
    },

    /**
     * Deletes a run with everything recorded for it: XComs, task instances and the history of their
     * finished tries (explicitly: MySQL ignores inline foreign keys). False when there was no such run.
     */
    async delete(dagId: string, runId: string): Promise<boolean> {
      return db.transaction().execute(async (trx) => {
        for (const table of [
          "xcom",
          "task_instance",
          "task_instance_history",
          "callback_request",
          "deadline",
        ] as const)
          await trx.deleteFrom(table).where("dag_id", "=", dagId).where("run_id", "=", runId).execute();
        const result = await trx
          .deleteFrom("dag_run")
          .where("dag_id", "=", dagId)
          .where("run_id", "=", runId)
          .executeTakeFirst();
        return Number(result.numDeletedRows) > 0;
      });
    },
  };
}
export type DagRunStore = ReturnType<typeof dagRunStore>;
