/**
 * The starts and ends of many tries in one transaction each: the local executor's hot path. A batch
 * reads its rows once (locked, on PostgreSQL and MySQL), decides for each request whether its try
 * still owns its row, and writes all that do in one UPDATE (each row with its own values), one
 * INSERT of archived tries and one of XComs. The fencing is the single-row writes' (./task-instances.ts):
 * a row moves only while it is in the state, try number and owner its request names; a request that
 * lost its row is answered as the single write would answer it, and a repeated commit is recognised
 * by its start or end date. `tryWrites` gathers concurrent requests into batches (./group-commit.ts).
 */
import { sql, type Kysely, type Transaction } from "kysely";
import { assertTransition, type TaskInstanceState } from "../core/states.ts";
import { recordAssetEvents } from "./assets.ts";
import type { Database } from "./database.ts";
import { GroupCommit } from "./group-commit.ts";
import type { TaskInstanceRow, Tables } from "./schema.ts";
import { MAX_ROWS, updateFromRows, updateFromRowsReturning } from "./sql/update-from-rows.ts";
import {
  ENDED_WAIT,
  historyRow,
  keyString,
  pushReturnValue,
  taskInstanceStore,
  toDb,
  type TaskInstanceKey,
  type TryFence,
  type TryOutcome,
} from "./task-instances.ts";
import { RETURN_VALUE } from "./xcom.ts";

export interface StartRequest {
  key: TaskInstanceKey;
  /** The claim's owner; null outside a scheduler (then any queued row may start). */
  owner: number | null;
  start_date: string;
  hostname: string;
  pid: number;
}

export interface FinishRequest {
  fence: TryFence;
  from: "running" | "restarting";
  to: TaskInstanceState;
  patch: {
    end_date: string;
    duration: number | null;
    /** Left as they are when not given. */
    next_retry_at?: string | null;
    max_tries?: number;
  };
  outcome?: TryOutcome;
}

const KEY_TYPES = { dag_id: "text", run_id: "text", task_id: "text", map_index: "int" } as const;
/** The fence a RETURNING write holds in its WHERE: the row's state and owner, as the request names them. */
const STATE_AND_OWNER = {
  from_state: { column: "state", type: "text" },
  owner: { column: "claimed_by_job_id", type: "int" },
} as const;

const rowKey = (row: TaskInstanceRow) =>
  keyString({ dagId: row.dag_id, runId: row.run_id, taskId: row.task_id, mapIndex: row.map_index });

/** The rows of `keys`, locked for this transaction where the database locks rows. */
function lockRows(database: Database, trx: Transaction<Tables>, keys: readonly TaskInstanceKey[]) {
  return readRows(database, trx, keys, database.adapter.capabilities.supportsMultipleWriters);
}

async function readRows(
  database: Database,
  trx: Kysely<Tables> | Transaction<Tables>,
  keys: readonly TaskInstanceKey[],
  lock = false,
): Promise<Map<string, TaskInstanceRow>> {
  const rows = new Map<string, TaskInstanceRow>();
  for (let i = 0; i < keys.length; i += MAX_ROWS) {
    const batch = keys.slice(i, i + MAX_ROWS);
    let q = trx
      .selectFrom("task_instance")
      .selectAll()
      .where(
        database.adapter.keysIn(
          ["dag_id", "run_id", "task_id", "map_index"],
          batch.map((k) => [k.dagId, k.runId, k.taskId, k.mapIndex ?? -1]),
          [false, false, false, true],
        ),
      );
    if (lock) q = q.forUpdate();
    for (const row of (await q.execute()) as TaskInstanceRow[])
      rows.set(
        keyString({ dagId: row.dag_id, runId: row.run_id, taskId: row.task_id, mapIndex: row.map_index }),
        row,
      );
  }
  return rows;
}

const keyColumns = (k: TaskInstanceKey) => ({
  dag_id: k.dagId,
  run_id: k.runId,
  task_id: k.taskId,
  map_index: k.mapIndex ?? -1,
});

/** queued -> running for many tries at once; each answer as `startTry`'s (the row, or undefined). */
export async function startMany(
  database: Database,
  requests: readonly StartRequest[],
  now: string,
): Promise<(TaskInstanceRow | undefined)[]> {
  for (const r of requests) assertTransition("queued", "running", r.key);
  if (database.adapter.capabilities.supportsReturning && requests.every((r) => r.owner !== null))
    return startReturning(database, requests, now);
  return database.db.transaction().execute(async (trx) => {
    const rows = await lockRows(
      database,
      trx,
      requests.map((r) => r.key),
    );
    const answers: (TaskInstanceRow | undefined)[] = [];
    const moving: Record<string, unknown>[] = [];
    for (const r of requests) {
      const row = rows.get(keyString(r.key));
      const owned = row && row.state === "queued" && (r.owner === null || row.claimed_by_job_id === r.owner);
      if (!row || !owned) {
        // A start that committed before its connection was lost is recognised by its start date.
        const ours =
          row?.state === "running" && row.start_date === r.start_date && row.claimed_by_job_id === r.owner;
        answers.push(ours ? row : undefined);
        continue;
      }
      const started = {
        ...row,
        state: "running",
        try_number: row.try_number + 1,
        start_date: r.start_date,
        end_date: null,
        duration: null,
        hostname: r.hostname,
        pid: r.pid,
        last_heartbeat_at: r.start_date,
        next_retry_at: null,
        claimed_by_job_id: r.owner,
        updated_at: now,
      };
      answers.push(started);
      moving.push({ ...keyColumns(r.key), ...started, from_try: row.try_number, from_state: "queued" });
    }
    if (moving.length === 0) return answers;
    const moved = await updateFromRows(database, trx, {
      table: "task_instance",
      match: KEY_TYPES,
      guard: {
        from_try: { column: "try_number", type: "int" },
        from_state: { column: "state", type: "text" },
      },
      set: {
        try_number: "int",
        start_date: "text",
        last_heartbeat_at: "text",
        hostname: "text",
        pid: "int",
        claimed_by_job_id: "int",
      },
      constant: { state: "running", end_date: null, duration: null, next_retry_at: null, updated_at: now },
      rows: moving,
    });
    if (moved !== moving.length) throw new BatchMismatch("started", moved, moving.length);
    return answers;
  });
}

/**
 * startMany where the database answers an UPDATE with its rows: one statement, committing alone,
 * its fence in its WHERE (queued, claimed by the request's owner); what it did not move is read
 * back to recognise a start that committed before its connection was lost.
 */
async function startReturning(
  database: Database,
  requests: readonly StartRequest[],
  now: string,
): Promise<(TaskInstanceRow | undefined)[]> {
  const moved = await updateFromRowsReturning(database, database.db, {
    table: "task_instance",
    match: KEY_TYPES,
    guard: STATE_AND_OWNER,
    set: { start_date: "text", last_heartbeat_at: "text", hostname: "text", pid: "int" },
    computed: { try_number: sql`${sql.ref("task_instance.try_number")} + 1` },
    constant: { state: "running", end_date: null, duration: null, next_retry_at: null, updated_at: now },
    rows: requests.map((r) => ({
      ...keyColumns(r.key),
      from_state: "queued",
      owner: r.owner,
      start_date: r.start_date,
      last_heartbeat_at: r.start_date,
      hostname: r.hostname,
      pid: r.pid,
    })),
  });
  const byKey = new Map(moved.map((row) => [rowKey(row), row]));
  const missed = requests.filter((r) => !byKey.has(keyString(r.key)));
  const current = missed.length
    ? await readRows(
        database,
        database.db,
        missed.map((r) => r.key),
      )
    : new Map();
  return requests.map((r) => {
    const row = byKey.get(keyString(r.key));
    if (row) return row;
    const found = current.get(keyString(r.key));
    const ours =
      found?.state === "running" && found.start_date === r.start_date && found.claimed_by_job_id === r.owner;
    return ours ? found : undefined;
  });
}

/**
 * What the owner of some tries does in the transaction that records their ends, after them: the
 * scheduler claims the next tasks there (Airflow's "mini scheduler"), so a freed slot is filled in
 * the same commit instead of waiting for an iteration. `run` is given the owner's tries that ended;
 * what it answers is told whether the transaction committed.
 */
export interface EndsFollowUp {
  run(
    trx: Transaction<Tables>,
    ended: readonly TaskInstanceKey[],
  ): Promise<{ committed: () => void; failed: () => void } | undefined>;
}

/** Ends many tries at once; each answer as `finishTry`'s (recorded, or refused). */
export async function finishMany(
  database: Database,
  requests: readonly FinishRequest[],
  now: string,
  followUps: ReadonlyMap<number, EndsFollowUp> = new Map(),
): Promise<boolean[]> {
  for (const r of requests) assertTransition(r.from, r.to, r.fence.key);
  const done: { committed: () => void; failed: () => void }[] = [];
  let answers: boolean[];
  try {
    answers = await endInTransaction(database, requests, now, async (trx, ended) => {
      for (const [owner, mine] of Map.groupBy(ended, (r) => r.fence.owner)) {
        const followUp = owner === null ? undefined : followUps.get(owner);
        const outcome = await followUp?.run(
          trx,
          mine.map((r) => r.fence.key),
        );
        if (outcome) done.push(outcome);
      }
    });
  } catch (error) {
    for (const d of done) d.failed();
    throw error;
  }
  for (const d of done) d.committed();
  return answers;
}

async function endInTransaction(
  database: Database,
  requests: readonly FinishRequest[],
  now: string,
  then: (trx: Transaction<Tables>, ended: FinishRequest[]) => Promise<void>,
): Promise<boolean[]> {
  return database.db.transaction().execute(async (trx) => {
    const ended = database.adapter.capabilities.supportsReturning
      ? await endReturning(database, trx, requests, now)
      : await endLocked(database, trx, requests, now);
    const answers = requests.map((r) => ended.has(r));
    // What did not move: a refused try, or a result that committed before its connection was lost
    // (recognised by its end date).
    const missed = requests.filter((r) => !ended.has(r));
    if (missed.length > 0) {
      const current = await readRows(
        database,
        trx,
        missed.map((r) => r.fence.key),
      );
      requests.forEach((r, i) => {
        if (ended.has(r)) return;
        const row = current.get(keyString(r.fence.key));
        answers[i] =
          row?.try_number === r.fence.tryNumber &&
          row.claimed_by_job_id === r.fence.owner &&
          row.state === toDb(r.to) &&
          row.end_date === r.patch.end_date;
      });
    }
    if (ended.size === 0) return answers;
    const list = [...ended].map(([request, after]) => ({ request, after }));
    await archiveMany(trx, list);
    await pushReturnValues(database, trx, list, now);
    for (const { request, after } of list) await skipChosen(trx, after, request.outcome?.skip ?? [], now);
    // Only tries with outlets pay for this: the others keep the fast path.
    const events = list.flatMap(({ request }) => request.outcome?.assetEvents ?? []);
    if (events.length > 0) await recordAssetEvents(database, trx, events, now);
    await then(trx, [...ended.keys()]);
    return answers;
  });
}

/**
 * Where the database answers an UPDATE with its rows: the ends in one statement whose WHERE holds
 * every row's fence (its state, try number and owner), answering the rows as they now are.
 */
async function endReturning(
  database: Database,
  trx: Transaction<Tables>,
  requests: readonly FinishRequest[],
  now: string,
): Promise<Map<FinishRequest, TaskInstanceRow>> {
  const ended = new Map<FinishRequest, TaskInstanceRow>();
  // next_retry_at and max_tries stay as they are when a request does not give them: a group (and an
  // UPDATE) for each combination given.
  const groups = Map.groupBy(
    requests,
    (r) => `${r.patch.next_retry_at !== undefined} ${r.patch.max_tries !== undefined}`,
  );
  for (const [given, group] of groups) {
    const [retryAt, maxTries] = given.split(" ").map((g) => g === "true");
    const moved = await updateFromRowsReturning(database, trx, {
      table: "task_instance",
      match: { ...KEY_TYPES, try_number: "int" },
      guard: STATE_AND_OWNER,
      set: {
        state: "text",
        end_date: "text",
        duration: "float",
        ...(retryAt ? { next_retry_at: "text" as const } : {}),
        ...(maxTries ? { max_tries: "int" as const } : {}),
      },
      constant: { ...ENDED_WAIT, updated_at: now },
      rows: group.map((r) => ({
        ...keyColumns(r.fence.key),
        try_number: r.fence.tryNumber,
        from_state: r.from,
        owner: r.fence.owner,
        state: toDb(r.to),
        end_date: r.patch.end_date,
        duration: r.patch.duration,
        next_retry_at: r.patch.next_retry_at ?? null,
        max_tries: r.patch.max_tries,
      })),
    });
    const byKey = new Map(moved.map((row) => [rowKey(row), row]));
    for (const r of group) {
      const row = byKey.get(keyString(r.fence.key));
      if (row) ended.set(r, row);
    }
  }
  return ended;
}

/** Elsewhere (MySQL): the rows read locked, each request checked, one UPDATE for those that own theirs. */
async function endLocked(
  database: Database,
  trx: Transaction<Tables>,
  requests: readonly FinishRequest[],
  now: string,
): Promise<Map<FinishRequest, TaskInstanceRow>> {
  const rows = await lockRows(
    database,
    trx,
    requests.map((r) => r.fence.key),
  );
  const ended = new Map<FinishRequest, TaskInstanceRow>();
  for (const r of requests) {
    const row = rows.get(keyString(r.fence.key));
    const ownsIt = row?.try_number === r.fence.tryNumber && row.claimed_by_job_id === r.fence.owner;
    if (!row || !ownsIt || row.state !== r.from) continue;
    ended.set(r, {
      ...row,
      state: toDb(r.to),
      end_date: r.patch.end_date,
      duration: r.patch.duration,
      next_retry_at: r.patch.next_retry_at === undefined ? row.next_retry_at : r.patch.next_retry_at,
      max_tries: r.patch.max_tries ?? row.max_tries,
      updated_at: now,
    });
  }
  if (ended.size === 0) return ended;
  const moved = await updateFromRows(database, trx, {
    table: "task_instance",
    match: { ...KEY_TYPES, try_number: "int" },
    guard: { from_state: { column: "state", type: "text" } },
    set: { state: "text", end_date: "text", duration: "float", next_retry_at: "text", max_tries: "int" },
    constant: { ...ENDED_WAIT, updated_at: now },
    rows: [...ended].map(([request, after]) => ({ ...after, from_state: request.from })),
  });
  if (moved !== ended.size) throw new BatchMismatch("ended", moved, ended.size);
  return ended;
}

async function archiveMany(
  trx: Transaction<Tables>,
  ended: { request: FinishRequest; after: TaskInstanceRow }[],
): Promise<void> {
  const rows = ended.map(({ request, after }) =>
    historyRow({
      ...after,
      state: request.outcome?.archiveAs ?? (request.from === "restarting" ? "restarting" : after.state),
    }),
  );
  // 16 values a row: 100 rows stay under every driver's limit on bound parameters.
  for (let i = 0; i < rows.length; i += 100)
    await trx
      .insertInto("task_instance_history")
      .values(rows.slice(i, i + 100))
      .execute();
}

/** The tries' return values: their earlier values (an earlier try's) replaced, in two statements. */
async function pushReturnValues(
  database: Database,
  trx: Transaction<Tables>,
  ended: { request: FinishRequest; after: TaskInstanceRow }[],
  now: string,
): Promise<void> {
  const pushed = ended.filter((e) => e.request.outcome?.xcom !== undefined);
  for (let i = 0; i < pushed.length; i += 100) {
    const batch = pushed.slice(i, i + 100);
    await trx
      .deleteFrom("xcom")
      .where("key", "=", RETURN_VALUE)
      .where(
        database.adapter.keysIn(
          ["task_id", "dag_run_id", "map_index"],
          batch.map(({ after }) => [after.task_id, after.dag_run_id, after.map_index]),
          [false, true, true],
        ),
      )
      .execute();
    await trx
      .insertInto("xcom")
      .values(
        batch.map(({ request, after }) => ({
          dag_run_id: after.dag_run_id,
          task_id: after.task_id,
          map_index: after.map_index,
          key: RETURN_VALUE,
          dag_id: after.dag_id,
          run_id: after.run_id,
          value: request.outcome!.xcom!,
          timestamp: now,
        })),
      )
      .execute();
  }
  // A multipleOutputs task's keys: rare, one upsert each.
  for (const { request, after } of ended)
    for (const [key, value] of Object.entries(request.outcome?.outputs ?? {}))
      await pushReturnValue(database, trx, after, value, now, key);
}

/** A branch's or short-circuit's choice: the tasks it did not follow, still without a state, skipped. */
async function skipChosen(
  trx: Transaction<Tables>,
  ti: TaskInstanceRow,
  skip: readonly string[],
  now: string,
) {
  if (skip.length === 0) return;
  for (const taskId of skip)
    assertTransition("none", "skipped", { dagId: ti.dag_id, runId: ti.run_id, taskId });
  await trx
    .updateTable("task_instance")
    .set({ state: "skipped", end_date: now, updated_at: now })
    .where("dag_id", "=", ti.dag_id)
    .where("run_id", "=", ti.run_id)
    .where("map_index", "=", ti.map_index)
    .where("task_id", "in", [...skip])
    .where("state", "is", null)
    .execute();
}

/** A batch moved fewer rows than it had locked and checked: written again item by item. */
export class BatchMismatch extends Error {
  constructor(what: string, moved: number, expected: number) {
    super(`a batch of tries ${what} ${moved} rows of the ${expected} it checked`);
    this.name = "BatchMismatch";
  }
}

const batches = new WeakMap<Database, ReturnType<typeof createTryWrites>>();

function createTryWrites(database: Database) {
  const tis = taskInstanceStore(database);
  const followUps = new Map<number, EndsFollowUp>();
  // A stream of starts or ends is written at most every 2 ms: 500 transactions a second at most.
  const spacingMs = 2;
  const starts = new GroupCommit<StartRequest, TaskInstanceRow | undefined>({
    spacingMs,
    many: (items) => startMany(database, items, new Date().toISOString()),
    one: (r) =>
      tis.startTry(r.key, r.owner, {
        start_date: r.start_date,
        end_date: null,
        duration: null,
        hostname: r.hostname,
        pid: r.pid,
        last_heartbeat_at: r.start_date,
        next_retry_at: null,
      }),
  });
  const ends = new GroupCommit<FinishRequest, boolean>({
    spacingMs,
    many: (items) => finishMany(database, items, new Date().toISOString(), followUps),
    // A lone end whose owner follows up goes through the batch too: its follow-up is in its commit.
    one: async (r) =>
      r.fence.owner !== null && followUps.has(r.fence.owner)
        ? (await finishMany(database, [r], new Date().toISOString(), followUps))[0]!
        : tis.finishTry(r.fence, r.from, r.to, r.patch, r.outcome),
  });
  return {
    /** Starts a claimed try, with whatever other starts are waiting (see startMany). */
    start: (r: StartRequest) => starts.submit(r),
    /** Records a try's end, with whatever other ends are waiting (see finishMany). */
    finish: (r: FinishRequest) => ends.submit(r),
    /** `owner`'s follow-up in every transaction that ends tries of its (none: null). */
    followEnds: (owner: number, followUp: EndsFollowUp | null) => {
      if (followUp) followUps.set(owner, followUp);
      else followUps.delete(owner);
    },
  };
}

/** The installation's batched try writes for `database` (one gatherer per open database). */
export function tryWrites(database: Database): ReturnType<typeof createTryWrites> {
  let writes = batches.get(database);
  if (!writes) batches.set(database, (writes = createTryWrites(database)));
  return writes;
}
