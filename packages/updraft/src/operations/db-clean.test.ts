/**
 * `db clean` on the three real databases: old finished runs go with every row recorded for them, a
 * running or queued run and each DAG's latest runs stay, the audit log and finished jobs by date, in
 * batches, archived unless told not to, and a dry run changes nothing.
 */
import assert from "node:assert/strict";
import { beforeEach, test } from "node:test";
import { sql } from "kysely";
import type { RunState } from "../core/states.ts";
import type { Database } from "../storage/database.ts";
import { dagRunStore, type RunType } from "../storage/dag-runs.ts";
import { insertCallbackRequest } from "../storage/callbacks.ts";
import { CLEANABLE_TABLES, archiveTableName, type CleanableTable } from "../storage/clean.ts";
import { forEachDatabase } from "../test-support/databases.ts";
import { serializedDag, serializedTask } from "../test-support/serialized.ts";
import { cleanMetadata, dropArchives, listArchives, parseTimestamp, planClean } from "./db-clean.ts";

const BEFORE = "2025-03-01T00:00:00.000Z";
const day = (month: number, d: number) => new Date(Date.UTC(2025, month - 1, d)).toISOString();

interface SeedRun {
  dagId: string;
  runId: string;
  runType: RunType;
  state: RunState;
  /** When it got its state: its end for a finished run. */
  at: string;
  intervalEnd?: string;
  /** Gone after a clean before BEFORE. */
  goes: boolean;
}

const RUNS: SeedRun[] = [
  {
    dagId: "etl",
    runId: "e1",
    runType: "scheduled",
    state: "success",
    at: day(1, 2),
    intervalEnd: day(1, 2),
    goes: true,
  },
  {
    dagId: "etl",
    runId: "e2",
    runType: "scheduled",
    state: "failed",
    at: day(1, 3),
    intervalEnd: day(1, 3),
    goes: true,
  },
  // Never a running or queued run's rows, however old.
  {
    dagId: "etl",
    runId: "e3",
    runType: "scheduled",
    state: "running",
    at: day(1, 4),
    intervalEnd: day(1, 4),
    goes: false,
  },
  { dagId: "etl", runId: "e4", runType: "manual", state: "queued", at: day(1, 5), goes: false },
  // The newest scheduled interval: where the timetable carries on from.
  {
    dagId: "etl",
    runId: "e5",
    runType: "scheduled",
    state: "success",
    at: day(1, 6),
    intervalEnd: day(1, 6),
    goes: false,
  },
  { dagId: "etl", runId: "e6", runType: "manual", state: "success", at: day(1, 7), goes: true },
  { dagId: "etl", runId: "e7", runType: "manual", state: "success", at: day(4, 2), goes: false },
  { dagId: "manual_only", runId: "m1", runType: "manual", state: "success", at: day(1, 10), goes: true },
  // Every run of this DAG is old: its newest finished one stays.
  { dagId: "manual_only", runId: "m2", runType: "manual", state: "failed", at: day(1, 11), goes: false },
];
const GOING = RUNS.filter((r) => r.goes).map((r) => r.runId);

/**
 * Each run: 2 task instances, 1 finished try, 1 reschedule, 1 XCom, 1 DAG callback request, 1 deadline,
 * and an asset event at its time that started it (linked in dagrun_asset_event).
 */
const EXPECTED: Record<CleanableTable, number> = {
  dag_run: GOING.length,
  task_instance: 2 * GOING.length,
  task_instance_history: GOING.length,
  task_reschedule: GOING.length,
  xcom: GOING.length,
  callback_request: GOING.length,
  deadline: GOING.length,
  dagrun_asset_event: GOING.length,
  audit_log: 3,
  job: 2,
  // By their own time, whatever their run: every event but e7's.
  asset_event: RUNS.length - 1,
};

async function seed(database: Database): Promise<Map<string, number>> {
  const store = dagRunStore(database);
  const ids = new Map<string, number>();
  const uri = "s3://bucket/key";
  const at = day(1, 1);
  await database.db
    .insertInto("asset")
    .values({ uri, name: uri, asset_group: "asset", extra: "{}", created_at: at, updated_at: at })
    .execute();
  const asset = await database.db
    .selectFrom("asset")
    .select("id")
    .where("uri", "=", uri)
    .executeTakeFirstOrThrow();
  for (const r of RUNS) {
    const dag = serializedDag(r.dagId, [serializedTask("a"), serializedTask("b", ["a"])]);
    const run = await store.create(
      {
        dag,
        runId: r.runId,
        runType: r.runType,
        logicalDate: r.intervalEnd ?? r.at,
        dataIntervalStart: r.intervalEnd ?? null,
        dataIntervalEnd: r.intervalEnd ?? null,
        runAfter: r.intervalEnd ?? r.at,
      },
      r.at,
    );
    if (r.state !== "queued") await store.setState(run.id, r.state, r.at);
    ids.set(r.runId, run.id);
    await database.db
      .insertInto("xcom")
      .values({
        dag_run_id: run.id,
        task_id: "a",
        map_index: -1,
        key: "return_value",
        dag_id: r.dagId,
        run_id: r.runId,
        value: "1",
        timestamp: r.at,
      })
      .execute();
    await database.db
      .insertInto("task_instance_history")
      .values({
        dag_id: r.dagId,
        run_id: r.runId,
        task_id: "a",
        map_index: -1,
        try_number: 1,
        state: "failed",
        operator: "empty",
        pool: "default_pool",
        queue: "default",
        priority_weight: 1,
        rendered_fields: "{}",
      })
      .execute();
    await database.db
      .insertInto("task_reschedule")
      .values({
        dag_id: r.dagId,
        run_id: r.runId,
        task_id: "b",
        map_index: -1,
        try_number: 1,
        start_date: r.at,
        end_date: r.at,
        duration: 0,
        reschedule_date: r.at,
      })
      .execute();
    const ref = { id: run.id, dag_id: r.dagId, run_id: r.runId, dag_hash: null };
    await insertCallbackRequest(database, database.db, ref, "dag_success", "", { reason: "success" }, r.at);
    await database.db
      .insertInto("deadline")
      .values({
        dag_id: r.dagId,
        run_id: r.runId,
        dag_run_id: run.id,
        deadline_index: 0,
        deadline_time: r.at,
        missed: 0,
        handled_at: r.at,
        created_at: r.at,
      })
      .execute();
    await database.db
      .insertInto("asset_event")
      .values({
        asset_id: asset.id,
        extra: "{}",
        timestamp: r.at,
        source_dag_id: null,
        source_task_id: null,
        source_run_id: null,
        source_map_index: null,
        source_alias_name: null,
      })
      .execute();
    const event = await database.db
      .selectFrom("asset_event")
      .select((eb) => eb.fn.max("id").as("id"))
      .executeTakeFirstOrThrow();
    await database.db
      .insertInto("dagrun_asset_event")
      .values({ dag_run_id: run.id, event_id: Number(event.id) })
      .execute();
  }
  const entries: [string, string][] = [
    [day(1, 1), "trigger"],
    [day(2, 1), "clear"],
    [day(2, 28), "mark"],
    [day(3, 1), "trigger"],
    [day(4, 1), "pause"],
  ];
  for (const [dttm, event] of entries)
    await database.db.insertInto("audit_log").values({ dttm, event, owner: "admin", extra: "{}" }).execute();
  const job = async (state: string, end: string | null, beat: string) => {
    const values = {
      job_type: "scheduler",
      state,
      hostname: "h",
      pid: 1,
      start_date: day(1, 1),
      end_date: end,
      latest_heartbeat: beat,
    };
    await database.db.insertInto("job").values(values).execute();
    const row = await database.db
      .selectFrom("job")
      .select((eb) => eb.fn.max("id").as("id"))
      .executeTakeFirstOrThrow();
    return Number(row.id);
  };
  await job("success", day(1, 1), day(1, 1));
  await job("failed", day(1, 2), day(1, 2));
  // Ended long ago but still holds a claimed task instance: the rescue of its work needs the row.
  const holder = await job("failed", day(1, 3), day(1, 3));
  await database.db
    .updateTable("task_instance")
    .set({ state: "queued", claimed_by_job_id: holder })
    .where("run_id", "=", "e3")
    .where("task_id", "=", "a")
    .execute();
  await job("running", null, day(1, 1));
  await job("success", day(4, 2), day(4, 2));
  return ids;
}

async function wipe(database: Database): Promise<void> {
  for (const table of [
    "xcom",
    "callback_request",
    "deadline",
    "dagrun_asset_event",
    "asset_event",
    "asset",
    "task_instance_history",
    "task_reschedule",
    "task_instance",
    "dag_run",
    "audit_log",
    "job",
  ] as const)
    await database.db.deleteFrom(table).execute();
  await dropArchives(database, await listArchives(database));
}

async function rows(database: Database, table: CleanableTable | string): Promise<number> {
  const { db } = database;
  const row = await db
    .withTables<Record<string, Record<string, unknown>>>()
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

async function counts(database: Database): Promise<Record<CleanableTable, number>> {
  const out = {} as Record<CleanableTable, number>;
  for (const t of CLEANABLE_TABLES) out[t] = await rows(database, t);
  return out;
}

const runIds = async (database: Database, table: "dag_run" | "task_instance" | "xcom" | string) =>
  (
    await database.db
      .withTables<Record<string, { run_id: string }>>()
      .selectFrom(table)
      .select("run_id")
      .execute()
  )
    .map((r) => r.run_id)
    .sort();

const SEEDED: Record<CleanableTable, number> = {
  dag_run: RUNS.length,
  task_instance: 2 * RUNS.length,
  task_instance_history: RUNS.length,
  task_reschedule: RUNS.length,
  xcom: RUNS.length,
  callback_request: RUNS.length,
  deadline: RUNS.length,
  dagrun_asset_event: RUNS.length,
  audit_log: 5,
  job: 5,
  asset_event: RUNS.length,
};
const minus = (a: Record<CleanableTable, number>, b: Record<CleanableTable, number>) =>
  Object.fromEntries(CLEANABLE_TABLES.map((t) => [t, a[t] - b[t]]));
/** What a full clean leaves: the kept runs' links to old events went with the events (e7's stays). */
const afterClean = () => ({ ...minus(SEEDED, EXPECTED), dagrun_asset_event: 1 });

test("timestamps: ISO 8601, no zone means UTC, anything else is refused naming the flag", () => {
  const flag = "--clean-before-timestamp";
  assert.equal(parseTimestamp("2025-03-01", flag), "2025-03-01T00:00:00.000Z");
  assert.equal(parseTimestamp("2025-03-01T06:30", flag), "2025-03-01T06:30:00.000Z");
  assert.equal(parseTimestamp("2025-03-01 06:30:15.5", flag), "2025-03-01T06:30:15.500Z");
  assert.equal(parseTimestamp("2025-03-01T06:30:00+02:00", flag), "2025-03-01T04:30:00.000Z");
  assert.equal(parseTimestamp("2025-03-01T06:30:00-0130", flag), "2025-03-01T08:00:00.000Z");
  for (const bad of ["yesterday", "2025-02-30", "2025-13-01", "2025-03-01T25:00", "1700000000", ""])
    assert.throws(() => parseTimestamp(bad, flag), /--clean-before-timestamp ".*" is not a timestamp/, bad);
});

test("tables: Airflow's names, log for the audit log, dag_run with its children; others refused", () => {
  const plan = (tables?: string[]) => planClean({ before: BEFORE, tables }).tables;
  assert.deepEqual(plan(), [...CLEANABLE_TABLES]);
  assert.deepEqual(plan(["log", "xcom"]), ["xcom", "audit_log"]);
  assert.deepEqual(plan(["dag_run"]), [
    "dag_run",
    "task_instance",
    "task_instance_history",
    "task_reschedule",
    "xcom",
    "callback_request",
    "deadline",
    "dagrun_asset_event",
  ]);
  assert.throws(
    () => plan(["dag_runs"]),
    /"dag_runs" is not a table db clean cleans: use dag_run, task_instance, task_instance_history, task_reschedule, xcom, callback_request, deadline, dagrun_asset_event, audit_log, job, asset_event, log/,
  );
  assert.throws(() => planClean({ before: BEFORE, batchSize: 0 }), /batch size must be a whole number/);
});

forEachDatabase("db clean", (get) => {
  beforeEach(() => wipe(get()));

  test("a dry run counts what would go per table and changes nothing", async () => {
    await seed(get());
    const result = await cleanMetadata(get(), planClean({ before: BEFORE, dryRun: true }));
    assert.deepEqual(result.counts, EXPECTED);
    assert.deepEqual(result.archives, []);
    assert.deepEqual(await counts(get()), SEEDED);
    assert.deepEqual(await listArchives(get()), []);
  });

  test("old finished runs go with their rows, in batches, archived; running, queued and latest runs stay", async () => {
    const ids = await seed(get());
    const e3 = ids.get("e3")!;
    const childrenOfE3 = async () => {
      const { db } = get();
      const tis = await db
        .selectFrom("task_instance")
        .select("task_id")
        .where("dag_run_id", "=", e3)
        .execute();
      const xcoms = await db.selectFrom("xcom").select("key").where("dag_run_id", "=", e3).execute();
      const tries = await db
        .selectFrom("task_instance_history")
        .select("try_number")
        .where("run_id", "=", "e3")
        .execute();
      return [tis.length, xcoms.length, tries.length];
    };
    const progress: number[] = [];
    const result = await cleanMetadata(get(), planClean({ before: BEFORE, batchSize: 1 }), {
      onProgress: (table, done) => table === "dag_run" && progress.push(done),
    });
    assert.deepEqual(result.counts, EXPECTED);
    assert.deepEqual(progress, [1, 2, 3, 4], "one run per batch, each batch reported");
    assert.deepEqual(await counts(get()), afterClean());
    const staying = RUNS.filter((r) => !r.goes)
      .map((r) => r.runId)
      .sort();
    assert.deepEqual(await runIds(get(), "dag_run"), staying);
    assert.deepEqual([...new Set(await runIds(get(), "task_instance"))], staying);
    assert.deepEqual(await runIds(get(), "xcom"), staying);
    assert.deepEqual(await runIds(get(), "task_instance_history"), staying);
    assert.deepEqual(await runIds(get(), "task_reschedule"), staying);
    assert.deepEqual(await childrenOfE3(), [2, 1, 1], "the running run keeps every row");
    // The archives hold exactly what went.
    assert.deepEqual(result.archives.sort(), CLEANABLE_TABLES.map(archiveTableName).sort());
    for (const t of CLEANABLE_TABLES) assert.equal(await rows(get(), archiveTableName(t)), EXPECTED[t], t);
    assert.deepEqual(await runIds(get(), archiveTableName("dag_run")), [...GOING].sort());
    assert.deepEqual([...new Set(await runIds(get(), archiveTableName("task_instance")))], [...GOING].sort());
    assert.deepEqual(
      (
        await get()
          .db.withTables<Record<string, { event: string }>>()
          .selectFrom(archiveTableName("audit_log"))
          .select("event")
          .execute()
      )
        .map((r) => r.event)
        .sort(),
      ["clear", "mark", "trigger"],
    );

    // Again: nothing more goes, the archives stay as they were.
    const again = await cleanMetadata(get(), planClean({ before: BEFORE }));
    assert.deepEqual(
      Object.values(again.counts),
      CLEANABLE_TABLES.map(() => 0),
    );
    assert.equal(await rows(get(), archiveTableName("dag_run")), EXPECTED.dag_run);
  });

  test("--skip-archive makes no archive table; --vacuum gives the space back", async () => {
    await seed(get());
    const result = await cleanMetadata(
      get(),
      planClean({ before: BEFORE, archive: false, vacuum: true, batchSize: 3 }),
    );
    assert.deepEqual(result.counts, EXPECTED);
    assert.deepEqual(result.archives, []);
    assert.deepEqual(await listArchives(get()), []);
    assert.deepEqual(await counts(get()), afterClean());
  });

  test("asset events by their own time, with their links to the runs they started", async () => {
    await seed(get());
    const result = await cleanMetadata(get(), planClean({ before: BEFORE, tables: ["asset_event"] }));
    assert.deepEqual(result.counts, { asset_event: EXPECTED.asset_event });
    assert.deepEqual(await counts(get()), {
      ...SEEDED,
      asset_event: SEEDED.asset_event - EXPECTED.asset_event,
      dagrun_asset_event: 1,
    });
    assert.equal(await rows(get(), archiveTableName("asset_event")), EXPECTED.asset_event);
    assert.equal(await rows(get(), "asset"), 1, "the asset itself stays");
  });

  test("one table alone: XComs of the old runs only, or the audit log by its Airflow name", async () => {
    await seed(get());
    const xcom = await cleanMetadata(get(), planClean({ before: BEFORE, tables: ["xcom"] }));
    assert.deepEqual(xcom.counts, { xcom: EXPECTED.xcom });
    assert.deepEqual(await counts(get()), { ...SEEDED, xcom: SEEDED.xcom - EXPECTED.xcom });
    const log = await cleanMetadata(get(), planClean({ before: BEFORE, tables: ["log"] }));
    assert.deepEqual(log.counts, { audit_log: 3 });
    assert.deepEqual(
      (await listArchives(get())).map((a) => [a.archive, a.rows]),
      [
        [archiveTableName("xcom"), EXPECTED.xcom],
        [archiveTableName("audit_log"), 3],
      ],
    );
    await dropArchives(get(), await listArchives(get(), ["log"]));
    assert.deepEqual(
      (await listArchives(get())).map((a) => a.table),
      ["xcom"],
    );
  });

  test("an archive whose columns no longer match stops the clean, and the batch deletes nothing", async () => {
    await seed(get());
    await sql`create table ${sql.table(archiveTableName("audit_log"))} (id integer)`.execute(get().db);
    await assert.rejects(
      cleanMetadata(get(), planClean({ before: BEFORE, tables: ["log"] })),
      /could not archive rows of audit_log into _updraft_archive_audit_log .*drop or rename/,
    );
    assert.equal(await rows(get(), "audit_log"), SEEDED.audit_log);
  });

  test("many runs, a batch size smaller than their number: all go, several batches", async () => {
    const store = dagRunStore(get());
    const dag = serializedDag("many", [serializedTask("a"), serializedTask("b")]);
    for (let i = 0; i < 25; i++) {
      const run = await store.create(
        {
          dag,
          runId: `r${i}`,
          runType: "manual",
          logicalDate: day(1, 1 + i),
          dataIntervalStart: null,
          dataIntervalEnd: null,
          runAfter: day(1, 1 + i),
        },
        day(1, 1 + i),
      );
      await store.setState(run.id, "success", day(1, 1 + i));
    }
    let batches = 0;
    const result = await cleanMetadata(
      get(),
      planClean({ before: BEFORE, tables: ["dag_run"], batchSize: 7 }),
      {
        beforeBatch: async () => void batches++,
      },
    );
    assert.deepEqual(result.counts, {
      dag_run: 24,
      task_instance: 48,
      task_instance_history: 0,
      task_reschedule: 0,
      xcom: 0,
      callback_request: 0,
      deadline: 0,
      dagrun_asset_event: 0,
    });
    assert.equal(batches, 5, "4 batches with runs and 1 that found none left");
    assert.deepEqual(await runIds(get(), "dag_run"), ["r24"]);
  });
});
