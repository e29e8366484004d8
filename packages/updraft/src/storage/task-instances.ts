/**
 * Task instances: every state change goes through `transition`, which asks the state machine
 * (core/states.ts) whether it is legal and writes it only if the row is still in the state the caller
 * saw, so two processes cannot both move the same task instance.
 *
 * A try's own writes (its start, rendered fields, heartbeat, result, XCom, the tasks a branch skips)
 * are fenced: they apply only while the row still belongs to that try (its try number) and that owner
 * (the scheduler job that claimed it). A try that was paused, presumed dead and replaced can wake up
 * and finish, but its writes match no row: they are refused, never applied (see ../scheduler/ADR.md).
 */
import type {
  ExpressionBuilder,
  Insertable,
  Kysely,
  Transaction,
  UpdateQueryBuilder,
  UpdateResult,
} from "kysely";
import { assertTransition, type MovedBy, type TaskInstanceState } from "../core/states.ts";
import { recordAssetEvents, type AssetEventDraft } from "./assets.ts";
import type { Database } from "./database.ts";
import { nowIso } from "./database.ts";
import type { TaskInstanceRow, TaskInstanceUpdate, Tables } from "./schema.ts";
import { upsert } from "./upsert.ts";
import { RETURN_VALUE } from "./xcom.ts";

export interface TaskInstanceKey {
  dagId: string;
  runId: string;
  taskId: string;
  mapIndex?: number;
}

/** One try of a task instance, as its writes are fenced: the try number and the owning job (or none). */
export interface TryFence {
  key: TaskInstanceKey;
  tryNumber: number;
  /** The scheduler job that claimed the try; null for tries run outside a scheduler (`tasks run`). */
  owner: number | null;
}

/** What a finished try records besides its state, all in the transaction that records the state. */
export interface TryOutcome {
  /** The try's return value, encoded (XCom `return_value`). */
  xcom?: string;
  /** A multipleOutputs task's result, key by key, encoded: an XCom under each key. */
  outputs?: Readonly<Record<string, string>>;
  /** Tasks of the same run that a branch or short-circuit decided to skip (still without a state). */
  skip?: readonly string[];
  /** The state the archived try is kept with, when not the row's new state (a handed-back try). */
  archiveAs?: string;
  /** A successful try's asset events (its outlets), written and queued with its success (./assets.ts). */
  assetEvents?: readonly AssetEventDraft[];
}

/** What an ended try leaves of a wait it came back from: nothing (./waits.ts). */
export const ENDED_WAIT = { next_method: null, next_kwargs: null, trigger_id: null, trigger_timeout: null };

type Updating = UpdateQueryBuilder<Tables, "task_instance", "task_instance", UpdateResult>;

function whereKey(q: Updating, key: TaskInstanceKey): Updating {
  return q
    .where("dag_id", "=", key.dagId)
    .where("run_id", "=", key.runId)
    .where("task_id", "=", key.taskId)
    .where("map_index", "=", key.mapIndex ?? -1);
}

function whereOwner(q: Updating, owner: number | null): Updating {
  return owner === null ? q.where("claimed_by_job_id", "is", null) : q.where("claimed_by_job_id", "=", owner);
}

/** A condition matching any of `keys` (one OR of ANDs: the same form on every database). */
function anyOfKeys(keys: readonly TaskInstanceKey[]) {
  return (eb: ExpressionBuilder<Tables, "task_instance">) =>
    eb.or(
      keys.map((k) =>
        eb.and([
          eb("dag_id", "=", k.dagId),
          eb("run_id", "=", k.runId),
          eb("task_id", "=", k.taskId),
          eb("map_index", "=", k.mapIndex ?? -1),
        ]),
      ),
    );
}

function whereTry(q: Updating, fence: TryFence): Updating {
  return whereOwner(whereKey(q, fence.key).where("try_number", "=", fence.tryNumber), fence.owner);
}

/** The database keeps "no state yet" as NULL. */
export const toDb = (state: TaskInstanceState): string | null => (state === "none" ? null : state);
export const fromDb = (state: string | null): TaskInstanceState => (state ?? "none") as TaskInstanceState;

/** One string per task instance, for sets and maps of keys. */
export const keyString = (k: TaskInstanceKey) =>
  `${k.dagId}\u0000${k.runId}\u0000${k.taskId}\u0000${k.mapIndex ?? -1}`;

/** A task instance's row, read on `db` or inside a transaction. */
const rowOf = (db: Kysely<Tables> | Transaction<Tables>, key: TaskInstanceKey) =>
  db
    .selectFrom("task_instance")
    .selectAll()
    .where("dag_id", "=", key.dagId)
    .where("run_id", "=", key.runId)
    .where("task_id", "=", key.taskId)
    .where("map_index", "=", key.mapIndex ?? -1);

/**
 * Inside `trx`: whether `fence`'s try still runs its task instance (its try number, its owner, state
 * running), with the row locked until `trx` ends where the database locks rows (one writer on SQLite).
 * A try's write to another table (a variable) is made after this in the same transaction: a clear, a
 * mark or a takeover then waits for it, or came first and the write is refused.
 */
export async function holdsTry(
  database: Database,
  trx: Transaction<Tables>,
  fence: TryFence,
): Promise<boolean> {
  let q = rowOf(trx, fence.key);
  if (database.adapter.capabilities.supportsMultipleWriters) q = q.forUpdate();
  const row = await q.executeTakeFirst();
  return (
    row?.state === "running" && row.try_number === fence.tryNumber && row.claimed_by_job_id === fence.owner
  );
}

export function taskInstanceStore(database: Database) {
  const { db } = database;
  const byKey = (key: TaskInstanceKey) => rowOf(db, key);

  return {
    async get(key: TaskInstanceKey): Promise<TaskInstanceRow | undefined> {
      return byKey(key).executeTakeFirst();
    },

    async listByRun(dagRunId: number): Promise<TaskInstanceRow[]> {
      return db
        .selectFrom("task_instance")
        .selectAll()
        .where("dag_run_id", "=", dagRunId)
        .orderBy("task_id")
        .execute();
    },

    /**
     * Moves a task instance from `from` to `to` (with extra column changes) if it is still in `from`.
     * Returns false when another process changed it first; throws on an illegal transition.
     */
    async transition(
      key: TaskInstanceKey,
      from: TaskInstanceState,
      to: TaskInstanceState,
      patch: TaskInstanceUpdate = {},
      now = nowIso(),
      by: MovedBy = "system",
    ): Promise<boolean> {
      assertTransition(from, to, key, by);
      let q = whereKey(
        db.updateTable("task_instance").set({ ...patch, state: toDb(to), updated_at: now }),
        key,
      );
      q = from === "none" ? q.where("state", "is", null) : q.where("state", "=", from);
      const result = await q.executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    /**
     * none -> scheduled for tasks of one run that their trigger rules let run, in one statement per
     * 500; a row another process moved first is left alone. Returns how many moved.
     */
    async scheduleReady(
      run: { dagId: string; runId: string },
      taskIds: readonly string[],
      now = nowIso(),
    ): Promise<number> {
      let moved = 0;
      for (const taskId of taskIds) assertTransition("none", "scheduled", { ...run, taskId });
      for (let i = 0; i < taskIds.length; i += 500) {
        const result = await db
          .updateTable("task_instance")
          .set({ state: "scheduled", scheduled_dttm: now, updated_at: now })
          .where("dag_id", "=", run.dagId)
          .where("run_id", "=", run.runId)
          .where("map_index", "=", -1)
          .where("task_id", "in", taskIds.slice(i, i + 500))
          .where("state", "is", null)
          .executeTakeFirst();
        moved += Number(result.numUpdatedRows);
      }
      return moved;
    },

    /**
     * queued -> running for the next try of `owner`'s claim, returning the row as it now is.
     * Undefined when the row was no longer queued for this owner (cleared, taken over). Safe to call
     * again after a lost connection: a start that did commit is recognised by its start_date.
     */
    async startTry(
      key: TaskInstanceKey,
      owner: number | null,
      patch: TaskInstanceUpdate & { start_date: string },
      now = nowIso(),
      /** The try number the start makes (a worker's token names it): refused for any other. */
      expectTry?: number,
    ): Promise<TaskInstanceRow | undefined> {
      assertTransition("queued", "running", key);
      let q = whereKey(
        db.updateTable("task_instance").set((eb) => ({
          ...patch,
          claimed_by_job_id: owner,
          state: "running",
          updated_at: now,
          try_number: eb("try_number", "+", 1),
        })),
        key,
      ).where("state", "=", "queued");
      if (owner !== null) q = q.where("claimed_by_job_id", "=", owner);
      if (expectTry !== undefined)
        q = q.where("try_number", "=", expectTry - 1).where("claimed_by_job_id", "is", null);
      let row: TaskInstanceRow | undefined;
      if (database.adapter.capabilities.supportsReturning)
        row = (await q.returningAll().executeTakeFirst()) as TaskInstanceRow | undefined;
      else if (Number((await q.executeTakeFirst()).numUpdatedRows) === 1)
        row = await byKey(key).executeTakeFirst();
      if (row) return row;
      const current = await byKey(key).executeTakeFirst();
      const ours =
        current?.state === "running" &&
        current.start_date === patch.start_date &&
        current.claimed_by_job_id === owner;
      return ours ? current : undefined;
    },

    /**
     * queued -> scheduled, only while `owner` still holds the claim: a claim whose try never started
     * (its start failed, or its scheduler died) goes back for anyone to take.
     */
    async releaseClaim(key: TaskInstanceKey, owner: number | null, now = nowIso()): Promise<boolean> {
      assertTransition("queued", "scheduled", key);
      let q = whereKey(
        db
          .updateTable("task_instance")
          .set({ state: "scheduled", claimed_by_job_id: null, queued_dttm: null, updated_at: now }),
        key,
      ).where("state", "=", "queued");
      // Outside a scheduler (`tasks run`) a claim has no owner to check, as in startTry.
      if (owner !== null) q = q.where("claimed_by_job_id", "=", owner);
      return Number((await q.executeTakeFirst()).numUpdatedRows) === 1;
    },

    /**
     * queued (claimed by `owner`) -> queued in the executor's queue, owned by no scheduler: the
     * BullMQ executor's hand-over, for the claims of one iteration at once (200 per statement). From
     * then on the try that starts it (a worker, with the token its job carries) is its only owner, so
     * a scheduler dying changes nothing. Returns how many moved.
     */
    async handManyToQueue(keys: readonly TaskInstanceKey[], owner: number, now = nowIso()): Promise<number> {
      let moved = 0;
      for (let i = 0; i < keys.length; i += 200) {
        const batch = keys.slice(i, i + 200);
        const result = await db
          .updateTable("task_instance")
          .set({ claimed_by_job_id: null, updated_at: now })
          .where("state", "=", "queued")
          .where("claimed_by_job_id", "=", owner)
          .where(anyOfKeys(batch))
          .executeTakeFirst();
        moved += Number(result.numUpdatedRows);
      }
      return moved;
    },

    /**
     * queued in the executor's queue (no owner) -> scheduled, while it still waits for try
     * `tryNumber`: its job was lost or waited past [scheduler] task_queued_timeout.
     */
    async releaseQueued(key: TaskInstanceKey, tryNumber: number, now = nowIso()): Promise<boolean> {
      assertTransition("queued", "scheduled", key);
      const q = whereKey(
        db
          .updateTable("task_instance")
          .set({ state: "scheduled", claimed_by_job_id: null, queued_dttm: null, updated_at: now }),
        key,
      )
        .where("state", "=", "queued")
        .where("claimed_by_job_id", "is", null)
        .where("try_number", "=", tryNumber - 1);
      return Number((await q.executeTakeFirst()).numUpdatedRows) === 1;
    },

    /** One try's heartbeat (a worker's, through the execution API): false when it no longer owns its row. */
    async heartbeatTry(fence: TryFence, patch: TaskInstanceUpdate = {}, now = nowIso()): Promise<boolean> {
      const q = whereTry(
        db.updateTable("task_instance").set({ ...patch, last_heartbeat_at: now, updated_at: now }),
        fence,
      ).where("state", "=", "running");
      return Number((await q.executeTakeFirst()).numUpdatedRows) === 1;
    },

    /** A try's own change to its row (rendered fields); false when the try no longer owns it. */
    async updateTry(fence: TryFence, patch: TaskInstanceUpdate, now = nowIso()): Promise<boolean> {
      const q = whereTry(db.updateTable("task_instance").set({ ...patch, updated_at: now }), fence).where(
        "state",
        "in",
        ["running", "restarting"],
      );
      return Number((await q.executeTakeFirst()).numUpdatedRows) === 1;
    },

    /**
     * Records a try's end in one transaction: its state (`from` -> `to`), its XCom, the tasks its
     * branch skips, and the archived try. Nothing is written unless the try still owns the row.
     * Safe to call again after a lost connection: a commit that did land is recognised by its
     * end_date, and answered true.
     */
    async finishTry(
      fence: TryFence,
      from: "running" | "restarting",
      to: TaskInstanceState,
      patch: TaskInstanceUpdate & { end_date: string },
      outcome: TryOutcome = {},
      now = nowIso(),
    ): Promise<boolean> {
      assertTransition(from, to, fence.key);
      return db.transaction().execute(async (trx) => {
        const move = whereTry(
          // A try that ends no longer goes on from a wait (./waits.ts).
          trx.updateTable("task_instance").set({ ...ENDED_WAIT, ...patch, state: toDb(to), updated_at: now }),
          fence,
        ).where("state", "=", from);
        // The moved row, for the archive: from the update itself where the database can say it.
        let ti: TaskInstanceRow | undefined;
        if (database.adapter.capabilities.supportsReturning)
          ti = (await move.returningAll().executeTakeFirst()) as TaskInstanceRow | undefined;
        else if (Number((await move.executeTakeFirst()).numUpdatedRows) === 1)
          ti = await rowOf(trx, fence.key).executeTakeFirst();
        if (!ti) {
          const current = await rowOf(trx, fence.key).executeTakeFirst();
          return (
            current?.state === toDb(to) &&
            current.try_number === fence.tryNumber &&
            current.claimed_by_job_id === fence.owner &&
            current.end_date === patch.end_date
          );
        }
        if (outcome.xcom !== undefined) await pushReturnValue(database, trx, ti, outcome.xcom, now);
        if (outcome.assetEvents?.length) await recordAssetEvents(database, trx, outcome.assetEvents, now);
        for (const [key, value] of Object.entries(outcome.outputs ?? {}))
          await pushReturnValue(database, trx, ti, value, now, key);
        for (const taskId of outcome.skip ?? []) {
          const skipKey = { ...fence.key, taskId };
          assertTransition("none", "skipped", skipKey);
          await whereKey(
            trx.updateTable("task_instance").set({ state: "skipped", end_date: now, updated_at: now }),
            skipKey,
          )
            .where("state", "is", null)
            .execute();
        }
        await archive(trx, {
          ...ti,
          state: outcome.archiveAs ?? (from === "restarting" ? "restarting" : ti.state),
        });
        return true;
      });
    },

    /** The task instances `owner` still holds, of those given (a try no longer among them was taken over). */
    async owned(owner: number, keys: readonly TaskInstanceKey[]): Promise<TaskInstanceKey[]> {
      if (keys.length === 0) return [];
      const rows = await db
        .selectFrom("task_instance")
        .select(["dag_id", "run_id", "task_id", "map_index"])
        .where("claimed_by_job_id", "=", owner)
        .where("state", "in", ["queued", "running", "restarting"])
        .execute();
      const held = new Set(
        rows.map((r) =>
          keyString({ dagId: r.dag_id, runId: r.run_id, taskId: r.task_id, mapIndex: r.map_index }),
        ),
      );
      return keys.filter((k) => held.has(keyString(k)));
    },

    /** A task instance's finished tries, oldest first (the live try stays in task_instance). */
    async archivedTries(key: TaskInstanceKey) {
      return db
        .selectFrom("task_instance_history")
        .selectAll()
        .where("dag_id", "=", key.dagId)
        .where("run_id", "=", key.runId)
        .where("task_id", "=", key.taskId)
        .where("map_index", "=", key.mapIndex ?? -1)
        .orderBy("try_number")
        .execute();
    },

    /** Sets (or removes, with null) a task instance's note; not a state change. */
    async setNote(key: TaskInstanceKey, note: string | null, now = nowIso()): Promise<boolean> {
      const result = await whereKey(
        db.updateTable("task_instance").set({ note, updated_at: now }),
        key,
      ).executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    /** Deletes a task instance with its archived tries and its XComs (Airflow's cascade). */
    async delete(key: TaskInstanceKey): Promise<boolean> {
      return db.transaction().execute(async (trx) => {
        const mapIndex = key.mapIndex ?? -1;
        const ti = await trx
          .selectFrom("task_instance")
          .select("dag_run_id")
          .where("dag_id", "=", key.dagId)
          .where("run_id", "=", key.runId)
          .where("task_id", "=", key.taskId)
          .where("map_index", "=", mapIndex)
          .executeTakeFirst();
        if (!ti) return false;
        await trx
          .deleteFrom("xcom")
          .where("dag_run_id", "=", ti.dag_run_id)
          .where("task_id", "=", key.taskId)
          .where("map_index", "=", mapIndex)
          .execute();
        await trx
          .deleteFrom("task_instance_history")
          .where("dag_id", "=", key.dagId)
          .where("run_id", "=", key.runId)
          .where("task_id", "=", key.taskId)
          .where("map_index", "=", mapIndex)
          .execute();
        await trx
          .deleteFrom("task_instance")
          .where("dag_id", "=", key.dagId)
          .where("run_id", "=", key.runId)
          .where("task_id", "=", key.taskId)
          .where("map_index", "=", mapIndex)
          .execute();
        return true;
      });
    },

    /** One statement per interval, whatever the number of running tasks; only `owner`'s rows. */
    async heartbeat(owner: number, keys: TaskInstanceKey[], now = nowIso()): Promise<void> {
      for (let i = 0; i < keys.length; i += 200) {
        const batch = keys.slice(i, i + 200);
        await db
          .updateTable("task_instance")
          .set({ last_heartbeat_at: now })
          .where("claimed_by_job_id", "=", owner)
          .where("state", "in", ["running", "restarting"])
          .where(anyOfKeys(batch))
          .execute();
      }
    },
  };
}
export type TaskInstanceStore = ReturnType<typeof taskInstanceStore>;

async function archive(db: Kysely<Tables> | Transaction<Tables>, ti: TaskInstanceRow): Promise<void> {
  await db.insertInto("task_instance_history").values(historyRow(ti)).execute();
}

/** A finished try's row in task_instance_history: the task instance as the try left it. */
export function historyRow(ti: TaskInstanceRow): Insertable<Tables["task_instance_history"]> {
  return {
    dag_id: ti.dag_id,
    run_id: ti.run_id,
    task_id: ti.task_id,
    map_index: ti.map_index,
    try_number: ti.try_number,
    state: ti.state,
    start_date: ti.start_date,
    end_date: ti.end_date,
    duration: ti.duration,
    hostname: ti.hostname,
    pid: ti.pid,
    operator: ti.operator,
    pool: ti.pool,
    queue: ti.queue,
    priority_weight: ti.priority_weight,
    rendered_fields: ti.rendered_fields,
  };
}

export async function pushReturnValue(
  database: Database,
  trx: Transaction<Tables>,
  ti: TaskInstanceRow,
  encoded: string,
  now: string,
  key = RETURN_VALUE,
): Promise<void> {
  const row = {
    dag_run_id: ti.dag_run_id,
    task_id: ti.task_id,
    map_index: ti.map_index,
    key,
    dag_id: ti.dag_id,
    run_id: ti.run_id,
    value: encoded,
    timestamp: now,
  };
  await upsert(
    database,
    trx,
    "xcom",
    row,
    ["dag_run_id", "task_id", "map_index", "key"],
    ["value", "timestamp"],
  );
}
