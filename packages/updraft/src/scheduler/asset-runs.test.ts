/**
 * Asset-triggered runs on every database: events queue for the DAGs scheduled on their asset; all /
 * any conditions and aliases decide when a run starts; paused DAGs and maxActiveRuns are respected;
 * and under two schedulers racing with many events, each consumer gets each event in exactly one run.
 */
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { pino } from "pino";
import { allOf, anyOf, asset, assetAlias, dag as defineDag, empty } from "../sdk/index.ts";
import type { AssetRef } from "../core/assets.ts";
import type { Database } from "../storage/database.ts";
import { eventsOfRun, recordAssetEvents } from "../storage/assets.ts";
import { dagStore } from "../storage/dags.ts";
import { forEachDatabase } from "../test-support/databases.ts";
import { closeAll, openSiblings } from "../test-support/sibling-databases.ts";
import { createAssetTriggeredRuns } from "./asset-runs.ts";

const log = pino({ level: "silent" });
const a = asset("s3://lake/a");
const b = asset("s3://lake/b", { name: "b-name" });
const c = asset("s3://lake/c");
const alias = assetAlias("daily");
const ref = (x: typeof a): AssetRef => ({ uri: x.uri, name: x.name, group: x.group, extra: {} });

async function addDag(
  database: Database,
  dagId: string,
  schedule: unknown,
  o: { paused?: boolean; maxActiveRuns?: number } = {},
) {
  const d = defineDag({ dagId, schedule: schedule as never, maxActiveRuns: o.maxActiveRuns ?? 1000 }, () => {
    empty("only");
  });
  await dagStore(database).syncFile(
    {
      fileloc: `${dagId}.ts`,
      contentHash: dagId,
      durationMs: 1,
      dags: [d.serialize({ fileloc: `${dagId}.ts` })],
      errors: [],
    },
    { pausedAtCreation: o.paused ?? false },
  );
}

async function emit(database: Database, x: typeof a, extra: Record<string, unknown> = {}, alias?: string) {
  const now = new Date().toISOString();
  return database.db.transaction().execute(async (trx) =>
    recordAssetEvents(
      database,
      trx,
      [
        {
          asset: ref(x),
          extra,
          source: null,
          ...(alias ? { alias: { name: alias, group: "asset" } } : {}),
        },
      ],
      now,
    ),
  );
}

const runsOf = (database: Database, dagId: string) =>
  database.db.selectFrom("dag_run").selectAll().where("dag_id", "=", dagId).orderBy("id").execute();

const create = (database: Database) =>
  createAssetTriggeredRuns(database, { now: new Date().toISOString(), log });

forEachDatabase("asset-triggered runs", (get) => {
  before(async () => {
    const db = get();
    await addDag(db, "all_ab", [a, b]);
    await addDag(db, "any_ab", anyOf(a, b));
    await addDag(db, "nested", anyOf(allOf(a, c), b.and(c)));
    await addDag(db, "via_alias", alias);
    await addDag(db, "paused_a", [a], { paused: true });
    await addDag(db, "one_at_a_time", [c], { maxActiveRuns: 1 });
  });

  test("the DAG processor records the references and the assets", async () => {
    const refs = await get()
      .db.selectFrom("dag_schedule_asset_reference as r")
      .innerJoin("asset", "asset.id", "r.asset_id")
      .select(["r.dag_id", "asset.uri", "asset.name"])
      .where("r.dag_id", "=", "all_ab")
      .orderBy("asset.uri")
      .execute();
    assert.deepEqual(
      refs.map((r) => ({ ...r })),
      [
        { dag_id: "all_ab", uri: "s3://lake/a", name: "s3://lake/a" },
        { dag_id: "all_ab", uri: "s3://lake/b", name: "b-name" },
      ],
    );
    const summary = await get()
      .db.selectFrom("dag")
      .select("schedule_description")
      .where("dag_id", "=", "all_ab")
      .executeTakeFirstOrThrow();
    assert.equal(summary.schedule_description, "Asset");
  });

  test("an event of a starts the any-of consumer only; b then starts the all-of one with both events", async () => {
    const db = get();
    const [first] = await emit(db, a, { part: 1 });
    assert.equal(await create(db), 1);
    assert.equal((await runsOf(db, "any_ab")).length, 1);
    assert.equal((await runsOf(db, "all_ab")).length, 0);
    assert.equal((await runsOf(db, "paused_a")).length, 0, "a paused DAG queues nothing");
    const [run] = await runsOf(db, "any_ab");
    assert.equal(run!.run_type, "asset_triggered");
    assert.equal(run!.logical_date, null);
    assert.equal(run!.triggered_by, "asset");
    assert.deepEqual(
      (await eventsOfRun(db.db, run!.id)).map((e) => [e.id, e.extra]),
      [[first, { part: 1 }]],
    );

    const [second] = await emit(db, b);
    assert.equal(await create(db), 2);
    const [all] = await runsOf(db, "all_ab");
    assert.deepEqual(
      (await eventsOfRun(db.db, all!.id)).map((e) => e.id),
      [first, second],
    );
    assert.equal((await runsOf(db, "any_ab")).length, 2);
    assert.equal(await create(db), 0, "nothing is left queued for them");
    // nested: (a & c) | (b & c): a and b are queued, c not yet.
    assert.equal((await runsOf(db, "nested")).length, 0);
  });

  test("maxActiveRuns holds the queue until a run ends; nested conditions; aliases resolve at run time", async () => {
    const db = get();
    await emit(db, c);
    assert.equal(await create(db), 2, "one_at_a_time and nested (a & c)");
    assert.equal((await runsOf(db, "nested")).length, 1);
    await emit(db, c);
    // nested took a, b and c at once; only c is queued for it now. one_at_a_time is full.
    assert.equal(await create(db), 0, "nothing: nested needs a or b again, one_at_a_time is full");
    assert.equal((await runsOf(db, "one_at_a_time")).length, 1);
    await db.db
      .updateTable("dag_run")
      .set({ state: "success" })
      .where("dag_id", "=", "one_at_a_time")
      .execute();
    assert.equal(await create(db), 1, "the queued event of c starts one_at_a_time once its run ended");
    assert.equal((await runsOf(db, "one_at_a_time")).length, 2);
    await emit(db, b);
    assert.equal(await create(db), 2, "b & c now satisfies nested; any_ab runs too");
    assert.equal((await runsOf(db, "nested")).length, 2);

    assert.equal((await runsOf(db, "via_alias")).length, 0);
    await emit(db, asset("s3://lake/2026-01-01"), { day: 1 }, "daily");
    // The alias resolved with this event: the DAG is queued the moment it resolves.
    assert.equal(await create(db), 1);
    const [run] = await runsOf(db, "via_alias");
    const [event] = await eventsOfRun(db.db, run!.id);
    assert.equal(event!.uri, "s3://lake/2026-01-01");
    assert.equal(event!.sourceAliasName, "daily");
  });

  test("two schedulers racing with many events: each event in exactly one run of each consumer", async () => {
    const db = get();
    await addDag(db, "race_a", [asset("s3://race")]);
    await addDag(db, "race_any", anyOf(asset("s3://race"), asset("s3://other")));
    const siblings = await openSiblings(db, 2);
    const race = asset("s3://race");
    const emitted: number[] = [];
    let done = false;
    const loop = async (s: Database) => {
      while (!done) await createAssetTriggeredRuns(s, { now: new Date().toISOString(), log });
    };
    try {
      const loops = siblings.map(loop);
      const writers = [0, 1, 2].map(async () => {
        for (let i = 0; i < 12; i++) emitted.push(...(await emit(db, race, { i })));
      });
      await Promise.all(writers);
      done = true;
      await Promise.all(loops);
      await create(db);
    } finally {
      await closeAll(siblings);
    }
    for (const dagId of ["race_a", "race_any"]) {
      const attached: number[] = [];
      for (const run of await runsOf(db, dagId))
        attached.push(...(await eventsOfRun(db.db, run.id)).map((e) => e.id));
      assert.deepEqual(
        attached.sort((x, y) => x - y),
        [...emitted].sort((x, y) => x - y),
        `${dagId}: every event once`,
      );
      assert.ok((await runsOf(db, dagId)).every((r) => r.run_type === "asset_triggered"));
    }
    const left = await db.db
      .selectFrom("asset_dag_run_queue")
      .selectAll()
      .where("target_dag_id", "like", "race%")
      .execute();
    assert.deepEqual(left, []);
  });

  test("deleting a DAG drops its references, queue and its runs' links to events; the events stay", async () => {
    const db = get();
    await emit(db, a);
    const events = await db.db.selectFrom("asset_event").select("id").execute();
    assert.equal(await dagStore(db).deleteDag("all_ab"), "deleted");
    const refs = await db.db.selectFrom("dag_schedule_asset_reference").select("dag_id").execute();
    assert.ok(!refs.some((r) => r.dag_id === "all_ab"));
    const queue = await db.db.selectFrom("asset_dag_run_queue").select("target_dag_id").execute();
    assert.ok(!queue.some((q) => q.target_dag_id === "all_ab"));
    const links = await db.db
      .selectFrom("dagrun_asset_event as d")
      .leftJoin("dag_run as r", "r.id", "d.dag_run_id")
      .select("r.id")
      .execute();
    assert.ok(
      links.every((l) => l.id !== null),
      "no link to a deleted run",
    );
    assert.equal((await db.db.selectFrom("asset_event").select("id").execute()).length, events.length);
  });
});
