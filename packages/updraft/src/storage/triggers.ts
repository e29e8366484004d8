/**
 * The `trigger` table: what triggerers run for deferred task instances. A triggerer claims triggers
 * with a lease (`triggerer_id`, `lease_until`) it renews every few seconds; a triggerer that dies
 * stops renewing and its triggers go to another within one lease. Every write that ends a trigger
 * (its event, its failure) is fenced by the claim: it applies only while the row is still held by the
 * triggerer writing, so a trigger that moved to another triggerer is fired by one of them only.
 *
 * A task's runner inserts the trigger and points its task instance at it in the try's own fenced
 * transaction (the runner's side); everything else that writes this table is here.
 */
import { retrying } from "./retry.ts";
import { resumeSameTry } from "./waits.ts";
import { sql, type RawBuilder, type Transaction } from "kysely";
import { assertTransition } from "../core/states.ts";
import type { JsonValue } from "../sdk/json.ts";
import type { Database } from "./database.ts";
import type { Tables } from "./schema.ts";
import { wakeSchedulers } from "./wakeups.ts";

/** A triggerer's job rows (Airflow's job type): its heartbeat is the health endpoint's. */
export const TRIGGERER_JOB_TYPE = "TriggererJob";

/** A claimed trigger, as a triggerer runs it. */
export interface ClaimedTrigger {
  id: number;
  classpath: string;
  kwargs: Record<string, JsonValue>;
}

/** A failed wait: the task's next start fails with next_kwargs.error (its runner reads them). */
const FAIL = "__fail__";

// Every move below is deferred -> scheduled, done in bulk by SQL: the state machine allows it.
assertTransition("deferred", "scheduled", { dagId: "", runId: "", taskId: "" });

export function triggerStore(database: Database) {
  const { db } = database;
  const skipLocked = database.adapter.capabilities.supportsSkipLocked;
  const multiWriter = database.adapter.capabilities.supportsMultipleWriters;

  return {
    /**
     * Takes triggers nobody holds (new, released, or whose holder's lease lapsed) until `triggererId`
     * holds `capacity`; returns the ones taken now. One transaction: the candidates are locked (SKIP
     * LOCKED: another triggerer claiming at the same moment takes others) and the update re-checks
     * that each is still free, so no trigger is given to two triggerers (SQLite: one writer at a time).
     */
    async claim(triggererId: number, capacity: number, now: string, leaseUntil: string) {
      return db.transaction().execute(async (trx): Promise<ClaimedTrigger[]> => {
        const held = await trx
          .selectFrom("trigger")
          .select((eb) => eb.fn.countAll<number | string>().as("n"))
          .where("triggerer_id", "=", triggererId)
          .executeTakeFirstOrThrow();
        const room = capacity - Number(held.n);
        if (room <= 0) return [];
        let candidates = trx
          .selectFrom("trigger")
          .select(["id", "classpath", "kwargs"])
          .where((eb) => eb.or([eb("triggerer_id", "is", null), eb("lease_until", "<", now)]))
          .orderBy("id")
          .limit(room);
        if (skipLocked) candidates = candidates.forUpdate().skipLocked();
        const rows = await candidates.execute();
        if (rows.length === 0) return [];
        const taken = new Set<number>();
        // In chunks: a bound parameter list stays far below every driver's limit.
        for (let i = 0; i < rows.length; i += CHUNK) {
          const ids = rows.slice(i, i + CHUNK).map((r) => r.id);
          await trx
            .updateTable("trigger")
            .set({ triggerer_id: triggererId, lease_until: leaseUntil })
            .where("id", "in", ids)
            .where((eb) => eb.or([eb("triggerer_id", "is", null), eb("lease_until", "<", now)]))
            .execute();
          const mine = await trx
            .selectFrom("trigger")
            .select("id")
            .where("id", "in", ids)
            .where("triggerer_id", "=", triggererId)
            .execute();
          for (const r of mine) taken.add(r.id);
        }
        return rows
          .filter((r) => taken.has(r.id))
          .map((r) => ({ id: r.id, classpath: r.classpath, kwargs: parseKwargs(r.kwargs) }));
      });
    },

    /** Extends the lease of every trigger `triggererId` holds; returns their ids (what it still holds). */
    async renew(triggererId: number, leaseUntil: string): Promise<number[]> {
      await db
        .updateTable("trigger")
        .set({ lease_until: leaseUntil })
        .where("triggerer_id", "=", triggererId)
        .execute();
      const rows = await db
        .selectFrom("trigger")
        .select("id")
        .where("triggerer_id", "=", triggererId)
        .execute();
      return rows.map((r) => r.id);
    },

    /** A triggerer stopping hands its triggers back at once (another claims them without waiting). */
    async release(triggererId: number): Promise<number> {
      const r = await db
        .updateTable("trigger")
        .set({ triggerer_id: null, lease_until: null })
        .where("triggerer_id", "=", triggererId)
        .executeTakeFirst();
      return Number(r.numUpdatedRows);
    },

    /**
     * The trigger's event: its task instances are scheduled to resume with `{ event }`. False when
     * this triggerer no longer holds it (nothing written: another fires it, or it was deleted).
     */
    async fire(id: number, triggererId: number, event: JsonValue, now: string, o: { wake?: boolean } = {}) {
      const r = await this.fireMany(triggererId, [{ id, event }], now, o);
      return r.fired.length === 1;
    },

    /** The trigger failed (threw, ended without an event): its task instances fail on their next start. */
    async failTrigger(
      id: number,
      triggererId: number,
      error: string,
      now: string,
      o: { wake?: boolean } = {},
    ) {
      const r = await this.fireMany(triggererId, [{ id, error }], now, o);
      return r.fired.length === 1;
    },

    /**
     * Ends many triggers in one transaction (a triggerer firing hundreds a second): each one still held
     * by `triggererId` is deleted (the fence) and its deferred task instances scheduled, to resume with
     * `{ event }` (next_method kept as their runner wrote it) or to fail with `{ error }`
     * (next_method "__fail__"). The others are `lost`: nothing of theirs is written.
     */
    async fireMany(
      triggererId: number,
      ends: readonly TriggerEnd[],
      now: string,
      o: { wake?: boolean } = {},
    ): Promise<{ fired: number[]; lost: number[] }> {
      const fired: number[] = [];
      for (let i = 0; i < ends.length; i += CHUNK) {
        const chunk = ends.slice(i, i + CHUNK);
        fired.push(
          ...(await db.transaction().execute((trx) => endHeld(trx, multiWriter, triggererId, chunk, now))),
        );
      }
      if (fired.length > 0 && (o.wake ?? true)) await wakeSchedulers(database);
      const done = new Set(fired);
      return { fired, lost: ends.map((e) => e.id).filter((id) => !done.has(id)) };
    },

    /**
     * Deferred task instances whose wait passed its timeout are scheduled to fail (the scheduler calls
     * this every iteration: one UPDATE on the (state, trigger_timeout) index). Their triggers become
     * orphans, deleted by deleteOrphans. Returns how many.
     */
    async timeOutDeferred(now: string): Promise<number> {
      const error = `the trigger's timeout passed (defer() timeout; at ${now} the trigger had not fired)`;
      const n = await scheduleTimedOut(database, now, { method: FAIL, kwargs: JSON.stringify({ error }) });
      if (n > 0) await wakeSchedulers(database);
      return n;
    },

    /** Deletes triggers no deferred task instance waits on (its task was cleared, marked, timed out). */
    async deleteOrphans(): Promise<number> {
      const r = await db
        .deleteFrom("trigger")
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom("task_instance")
                .select(sql`1`.as("one"))
                .whereRef("task_instance.trigger_id", "=", "trigger.id")
                .where("task_instance.state", "=", "deferred"),
            ),
          ),
        )
        .executeTakeFirst();
      return Number(r.numDeletedRows);
    },
  };
}
export type TriggerStore = ReturnType<typeof triggerStore>;

const CHUNK = 500;

/** How a trigger ended: its event, or its error. */
export type TriggerEnd = { id: number; event: JsonValue } | { id: number; error: string };

/** Ends the triggers of `ends` that `triggererId` still holds (one transaction); returns their ids. */
async function endHeld(
  trx: Transaction<Tables>,
  lock: boolean,
  triggererId: number,
  ends: readonly TriggerEnd[],
  now: string,
): Promise<number[]> {
  let heldQuery = trx
    .selectFrom("trigger")
    .select("id")
    .where(
      "id",
      "in",
      ends.map((e) => e.id),
    )
    .where("triggerer_id", "=", triggererId);
  // Locked: a triggerer claiming it (its holder's lease lapsed) waits, then finds it gone.
  if (lock) heldQuery = heldQuery.forUpdate();
  const rows = await heldQuery.execute();
  const held = new Set(rows.map((r) => r.id));
  const mine = ends.filter((e) => held.has(e.id));
  if (mine.length === 0) return [];
  const ids = mine.map((e) => e.id);
  // The fence: deleting the row (still this triggerer's) is what makes this the one firing.
  await trx.deleteFrom("trigger").where("id", "in", ids).where("triggerer_id", "=", triggererId).execute();
  // One UPDATE for the chunk: each task instance gets its own trigger's payload.
  const byTrigger = (value: (e: TriggerEnd) => unknown, otherwise: RawBuilder<unknown> | null) =>
    sql`case ${sql.ref("trigger_id")} ${sql.join(
      mine.map((e) => sql`when ${e.id} then ${value(e)}`),
      sql` `,
    )} else ${otherwise ?? sql`null`} end`;
  const failed = mine.filter((e) => "error" in e);
  await trx
    .updateTable("task_instance")
    .set({
      state: "scheduled",
      next_kwargs: byTrigger(
        (e) => JSON.stringify("error" in e ? { error: e.error } : { event: e.event }),
        null,
      ) as never,
      // A resumption keeps the method its runner wrote when it deferred ("resume").
      ...(failed.length > 0
        ? {
            next_method: sql`case when ${sql.ref("trigger_id")} in (${sql.join(
              failed.map((e) => e.id),
            )}) then ${FAIL} else ${sql.ref("next_method")} end` as never,
          }
        : {}),
      trigger_id: null,
      trigger_timeout: null,
      // The same try goes on (./waits.ts resumeSameTry, ADR S17).
      ...resumeSameTry(now),
      updated_at: now,
    })
    .where("state", "=", "deferred")
    .where("trigger_id", "in", ids)
    .execute();
  return ids;
}

/**
 * Deferred task instances whose wait timed out at `now` go to scheduled, to start again with `next`.
 * Found by a plain read first, then moved by key (each still deferred and overdue): a ranged UPDATE
 * run every tick by several schedulers takes MySQL's gap locks on the index and deadlocks with the
 * tries' own writes; most ticks find nothing and write nothing.
 */
async function scheduleTimedOut(
  database: Database,
  now: string,
  next: { method: string; kwargs: string },
): Promise<number> {
  const { db } = database;
  const overdue = await db
    .selectFrom("task_instance")
    .select(["dag_id", "run_id", "task_id", "map_index"])
    .where("state", "=", "deferred")
    .where("trigger_timeout", "<=", now)
    .limit(500)
    .execute();
  if (overdue.length === 0) return 0;
  const r = await retrying(
    () =>
      db
        .updateTable("task_instance")
        .set({
          state: "scheduled",
          next_method: next.method,
          next_kwargs: next.kwargs,
          trigger_id: null,
          trigger_timeout: null,
          ...resumeSameTry(now),
          updated_at: now,
        })
        .where(
          database.adapter.keysIn(
            ["dag_id", "run_id", "task_id", "map_index"],
            overdue.map((k) => [k.dag_id, k.run_id, k.task_id, k.map_index]),
            [false, false, false, true],
          ),
        )
        .where("state", "=", "deferred")
        .where("trigger_timeout", "<=", now)
        .executeTakeFirst(),
    { what: "timing out deferred task instances", maxMs: 10_000 },
  );
  return Number(r.numUpdatedRows);
}

function parseKwargs(text: string): Record<string, JsonValue> {
  try {
    const value = JSON.parse(text) as unknown;
    return value && typeof value === "object" && !Array.isArray(value)
      ? (value as Record<string, JsonValue>)
      : {};
  } catch {
    return {};
  }
}
