/**
 * DAG callbacks and deadlines as rows (issue 20; ADR S19 in ./ADR.md). The scheduler never runs user
 * code: a DAG run's end and a missed deadline are written as `callback_request` rows in the
 * transaction of the state change that causes them, and a triggerer claims each with a lease, runs
 * its callbacks in its user-code child, and records the outcome. The unique (run, event, event_key)
 * key makes every writer's insert after the first a no-op; the conditional update of `deadline`
 * decides which scheduler reports a missed deadline.
 */
import type { Kysely, Transaction } from "kysely";
import type { DagCallbackEvent, SerializedDag, SerializedDeadline } from "../core/serialized.ts";
import type { Database } from "./database.ts";
import { retrying } from "./retry.ts";
import type { CallbackRequestRow, DeadlineRow, Tables } from "./schema.ts";

export const CALLBACK_EVENTS = ["dag_success", "dag_failure", "deadline_missed"] as const;
export type CallbackEvent = (typeof CALLBACK_EVENTS)[number];

/** What a callback request carries besides its run: why, which task, which deadline. */
export interface CallbackPayload {
  /** Airflow's reason: "success", "task_failure", "timed_out", "deadline_missed". */
  reason: string | null;
  /** The task instance that decided the run (a failed one for dag_failure), when known. */
  taskId?: string | null;
  mapIndex?: number | null;
  /** deadline_missed: the deadline's index in the DAG's list and its time. */
  deadline?: { index: number; time: string } | null;
}

/** A request a triggerer has claimed: what it needs to run the callbacks. */
export type ClaimedCallback = Pick<
  CallbackRequestRow,
  "id" | "dag_run_id" | "dag_id" | "run_id" | "event" | "event_key" | "dag_hash" | "payload" | "attempts"
>;

/** A request whose runs crashed the triggerer this often is failed instead of run again. */
export const MAX_CALLBACK_ATTEMPTS = 3;

type Db = Kysely<Tables> | Transaction<Tables>;

/** The run whose event it is, as the writers know it. */
export interface RunRef {
  id: number;
  dag_id: string;
  run_id: string;
  dag_hash: string | null;
}

/** Inserts a request unless the same event of the run has one already (then a no-op). */
export async function insertCallbackRequest(
  database: Database,
  db: Db,
  run: RunRef,
  event: CallbackEvent,
  eventKey: string,
  payload: CallbackPayload,
  now: string,
): Promise<void> {
  const insert = db.insertInto("callback_request").values({
    dag_run_id: run.id,
    dag_id: run.dag_id,
    run_id: run.run_id,
    event,
    event_key: eventKey,
    task_id: payload.taskId ?? null,
    map_index: payload.mapIndex ?? null,
    try_number: null,
    dag_hash: run.dag_hash,
    payload: JSON.stringify(payload),
    state: "queued",
    claimed_by: null,
    lease_until: null,
    attempts: 0,
    error: null,
    created_at: now,
    finished_at: null,
  });
  if (database.adapter.capabilities.supportsOnConflict)
    await insert.onConflict((oc) => oc.columns(["dag_run_id", "event", "event_key"]).doNothing()).execute();
  else await insert.ignore().execute();
}

/**
 * The run ended in `state`: its DAG's callback for that event is requested, with `db` (the
 * transaction that ended it). Nothing when the DAG has no callback for it.
 */
export async function requestRunEndCallback(
  database: Database,
  db: Db,
  dag: SerializedDag,
  run: RunRef,
  state: "success" | "failed",
  payload: CallbackPayload,
  now: string,
): Promise<void> {
  const event: DagCallbackEvent = state === "success" ? "dag_success" : "dag_failure";
  if (!dag.callbackEvents?.includes(event)) return;
  // Keyed by the end's time: the conditional move of the run decided who ends it (once); a run
  // cleared and ended again asks again, as Airflow runs the callback at each end.
  await insertCallbackRequest(database, db, run, event, now, payload, now);
}

/** When a deadline falls for a run; null when its reference is unknown (a run without a logical date). */
export function deadlineTime(
  deadline: SerializedDeadline,
  run: { logicalDate: string | null; queuedAt: string | null },
): string | null {
  const reference =
    deadline.reference === "logical_date"
      ? run.logicalDate
      : deadline.reference === "queued_at"
        ? run.queuedAt
        : deadline.fixed;
  if (reference === null) return null;
  const at = Date.parse(reference) + deadline.interval * 1000;
  return Number.isNaN(at) ? null : new Date(at).toISOString();
}

/** A new run's deadlines, written with `db` (the transaction that creates the run). */
export async function insertDeadlines(
  db: Db,
  dag: SerializedDag,
  run: Omit<RunRef, "dag_hash"> & { logicalDate: string | null; queuedAt: string | null },
  now: string,
): Promise<void> {
  const rows = (dag.deadlines ?? []).flatMap((d) => {
    const time = deadlineTime(d, run);
    if (time === null) return [];
    return [
      {
        dag_run_id: run.id,
        dag_id: run.dag_id,
        run_id: run.run_id,
        deadline_index: d.index,
        deadline_time: time,
        missed: 0,
        handled_at: null,
        created_at: now,
      },
    ];
  });
  if (rows.length > 0) await db.insertInto("deadline").values(rows).execute();
}

/** How a claimed request ended. */
export type CallbackOutcomeRecord = { ok: true } | { ok: false; error: string };

export function callbackStore(database: Database) {
  const { db } = database;
  const skipLocked = database.adapter.capabilities.supportsSkipLocked;

  return {
    /**
     * Deadlines whose time passed at `now`: for runs not finished, marked missed with their callback
     * request in the same transaction; for finished runs, marked handled (met). Read first, then
     * updated by key (a ranged UPDATE every tick by several schedulers deadlocks on MySQL's gap
     * locks); the update's `handled_at is null` decides which scheduler reports a miss. Returns how
     * many this caller marked missed.
     */
    async missDueDeadlines(now: string, limit = 200): Promise<number> {
      const due = await db
        .selectFrom("deadline")
        .innerJoin("dag_run", "dag_run.id", "deadline.dag_run_id")
        .select([
          "deadline.id",
          "deadline.deadline_index",
          "deadline.deadline_time",
          "dag_run.id as run_row_id",
          "dag_run.dag_id",
          "dag_run.run_id",
          "dag_run.dag_hash",
          "dag_run.state as run_state",
        ])
        .where("deadline.handled_at", "is", null)
        .where("deadline.deadline_time", "<=", now)
        .orderBy("deadline.deadline_time")
        .limit(limit)
        .execute();
      let marked = 0;
      for (const d of due) {
        if (!["queued", "running"].includes(d.run_state)) {
          // Finished before anyone looked: met (Airflow drops it); out of the next scans.
          await db
            .updateTable("deadline")
            .set({ handled_at: now })
            .where("id", "=", d.id)
            .where("handled_at", "is", null)
            .execute();
          continue;
        }
        const run = { id: d.run_row_id, dag_id: d.dag_id, run_id: d.run_id, dag_hash: d.dag_hash };
        if (await retrying(() => missOne(d, run), { what: "marking a deadline missed", maxMs: 10_000 }))
          marked++;
      }
      return marked;

      /** The update's `handled_at is null` decides which caller reports it; the request goes with it. */
      function missOne(d: { id: number; deadline_index: number; deadline_time: string }, run: RunRef) {
        return db.transaction().execute(async (trx) => {
          const r = await trx
            .updateTable("deadline")
            .set({ missed: 1, handled_at: now })
            .where("id", "=", d.id)
            .where("handled_at", "is", null)
            .executeTakeFirst();
          if (Number(r.numUpdatedRows) === 0) return false;
          const payload: CallbackPayload = {
            reason: "deadline_missed",
            deadline: { index: d.deadline_index, time: d.deadline_time },
          };
          const key = String(d.deadline_index);
          await insertCallbackRequest(database, trx, run, "deadline_missed", key, payload, now);
          return true;
        });
      }
    },

    /**
     * Takes up to `limit` requests nobody runs (queued, or running under a lapsed lease); returns
     * them. As triggers are claimed: candidates locked (SKIP LOCKED), the update re-checks each is
     * still free, so one triggerer at a time runs a request. Requests whose earlier runs crashed
     * their triggerer MAX_CALLBACK_ATTEMPTS times are failed instead.
     */
    async claim(
      triggererId: number,
      limit: number,
      now: string,
      leaseUntil: string,
    ): Promise<ClaimedCallback[]> {
      if (limit <= 0) return [];
      return db.transaction().execute(async (trx) => {
        let candidates = trx
          .selectFrom("callback_request")
          .select([
            "id",
            "dag_run_id",
            "dag_id",
            "run_id",
            "event",
            "event_key",
            "dag_hash",
            "payload",
            "attempts",
          ])
          .where((eb) =>
            eb.or([
              eb("state", "=", "queued"),
              eb.and([eb("state", "=", "running"), eb("lease_until", "<", now)]),
            ]),
          )
          .orderBy("id")
          .limit(limit);
        if (skipLocked) candidates = candidates.forUpdate().skipLocked();
        const rows = await candidates.execute();
        const taken: ClaimedCallback[] = [];
        for (const row of rows) {
          if (row.attempts >= MAX_CALLBACK_ATTEMPTS) {
            await trx
              .updateTable("callback_request")
              .set({
                state: "failed",
                claimed_by: null,
                lease_until: null,
                finished_at: now,
                error: `gave up after ${row.attempts} attempts: the triggerer running it stopped each time (a callback that crashes or hangs its process?)`,
              })
              .where("id", "=", row.id)
              .where("attempts", "=", row.attempts)
              .execute();
            continue;
          }
          const r = await trx
            .updateTable("callback_request")
            .set({
              state: "running",
              claimed_by: triggererId,
              lease_until: leaseUntil,
              attempts: row.attempts + 1,
            })
            .where("id", "=", row.id)
            .where("attempts", "=", row.attempts)
            .where((eb) =>
              eb.or([
                eb("state", "=", "queued"),
                eb.and([eb("state", "=", "running"), eb("lease_until", "<", now)]),
              ]),
            )
            .executeTakeFirst();
          if (Number(r.numUpdatedRows) > 0) taken.push({ ...row, attempts: row.attempts + 1 });
        }
        return taken;
      });
    },

    /** Extends the leases of the requests `triggererId` runs; returns their ids (what it still holds). */
    async renew(triggererId: number, leaseUntil: string): Promise<number[]> {
      await db
        .updateTable("callback_request")
        .set({ lease_until: leaseUntil })
        .where("claimed_by", "=", triggererId)
        .where("state", "=", "running")
        .execute();
      const rows = await db
        .selectFrom("callback_request")
        .select("id")
        .where("claimed_by", "=", triggererId)
        .where("state", "=", "running")
        .execute();
      return rows.map((r) => r.id);
    },

    /** Records how a request ended, if `triggererId` still holds it (false: another took it over). */
    async finish(
      id: number,
      triggererId: number,
      outcome: CallbackOutcomeRecord,
      now: string,
    ): Promise<boolean> {
      const r = await db
        .updateTable("callback_request")
        .set({
          state: outcome.ok ? "success" : "failed",
          error: outcome.ok ? null : outcome.error,
          lease_until: null,
          finished_at: now,
        })
        .where("id", "=", id)
        .where("claimed_by", "=", triggererId)
        .where("state", "=", "running")
        .executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },

    /** A triggerer stopping hands its unfinished requests back (another runs them without waiting). */
    async release(triggererId: number): Promise<number> {
      const r = await db
        .updateTable("callback_request")
        .set({ state: "queued", claimed_by: null, lease_until: null })
        .where("claimed_by", "=", triggererId)
        .where("state", "=", "running")
        .executeTakeFirst();
      return Number(r.numUpdatedRows);
    },

    /** A run's callback requests and deadlines, oldest first (the UI's run page). */
    async forRun(
      dagId: string,
      runId: string,
    ): Promise<{ callbacks: CallbackRequestRow[]; deadlines: DeadlineRow[] }> {
      const callbacks = await db
        .selectFrom("callback_request")
        .selectAll()
        .where("dag_id", "=", dagId)
        .where("run_id", "=", runId)
        .orderBy("id")
        .execute();
      const deadlines = await db
        .selectFrom("deadline")
        .selectAll()
        .where("dag_id", "=", dagId)
        .where("run_id", "=", runId)
        .orderBy("deadline_index")
        .execute();
      return { callbacks, deadlines };
    },
  };
}
export type CallbackStore = ReturnType<typeof callbackStore>;
