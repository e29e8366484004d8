/**
 * Assets, their events and the queue of events per consuming DAG: the one owner of these writes
 * (migration 0014). A try's events are written by the transaction that records its success
 * (./try-batches.ts, ./task-instances.ts); an API event by createApiAssetEvent; the DAG processor
 * replaces a DAG's references when it stores the DAG (./dags.ts); the scheduler takes a DAG's queue
 * when it starts an asset-triggered run (takeQueue).
 */
import type { Kysely, Transaction } from "kysely";
import { conditionLeaves, type AssetRef } from "../core/assets.ts";
import type { SerializedDag } from "../core/serialized.ts";
import type { Database } from "./database.ts";
import type { Tables } from "./schema.ts";
import { upsert } from "./upsert.ts";

type Db = Kysely<Tables> | Transaction<Tables>;

/** An event to record: the asset, its extra, and where it came from. */
export interface AssetEventDraft {
  asset: AssetRef;
  extra: Record<string, unknown>;
  source: { dagId: string; taskId: string; runId: string; mapIndex: number } | null;
  /** The alias it was recorded through, if any (the alias then resolves to the asset). */
  alias?: { name: string; group: string };
}

/** The asset's id, creating the row if it is new; `full` also refreshes its name, group and extra. */
async function ensureAsset(database: Database, trx: Db, ref: AssetRef, now: string, full: boolean) {
  const row = {
    uri: ref.uri,
    name: ref.name,
    asset_group: ref.group,
    extra: JSON.stringify(ref.extra),
    created_at: now,
    updated_at: now,
  };
  const existing = await trx
    .selectFrom("asset")
    .select(["id", "name", "asset_group", "extra"])
    .where("uri", "=", ref.uri)
    .executeTakeFirst();
  if (existing) {
    const changed =
      existing.name !== row.name || existing.asset_group !== row.asset_group || existing.extra !== row.extra;
    if (full && changed)
      await trx
        .updateTable("asset")
        .set({ name: row.name, asset_group: row.asset_group, extra: row.extra, updated_at: now })
        .where("id", "=", existing.id)
        .execute();
    return existing.id;
  }
  // Another processor may insert it at the same moment: the unique uri decides, nothing fails. A
  // task's outlet defines the asset (full): its name, group and extra win over a schedule's mention,
  // which may have won the race to insert the row.
  const refresh = full ? (["name", "asset_group", "extra", "updated_at"] as const) : (["uri"] as const);
  await upsert(database, trx, "asset", row, ["uri"], [...refresh]);
  const created = await trx
    .selectFrom("asset")
    .select("id")
    .where("uri", "=", ref.uri)
    .executeTakeFirstOrThrow();
  return created.id;
}

async function ensureAlias(database: Database, trx: Db, name: string, group: string): Promise<number> {
  const found = await trx.selectFrom("asset_alias").select("id").where("name", "=", name).executeTakeFirst();
  if (found) return found.id;
  await upsert(database, trx, "asset_alias", { name, asset_group: group }, ["name"], ["name"]);
  return (await trx.selectFrom("asset_alias").select("id").where("name", "=", name).executeTakeFirstOrThrow())
    .id;
}

/**
 * The DAG's references as the DAG processor stores it (Airflow writes them the same way): the assets
 * and aliases its schedule names, the assets its tasks' outlets name. Called in the transaction that
 * stores the DAG.
 */
export async function replaceDagAssetReferences(
  database: Database,
  trx: Transaction<Tables>,
  dag: SerializedDag,
  now: string,
): Promise<void> {
  await trx.deleteFrom("dag_schedule_asset_reference").where("dag_id", "=", dag.dagId).execute();
  await trx.deleteFrom("dag_schedule_asset_alias_reference").where("dag_id", "=", dag.dagId).execute();
  await trx.deleteFrom("task_outlet_asset_reference").where("dag_id", "=", dag.dagId).execute();
  for (const task of dag.tasks)
    for (const outlet of task.outlets ?? []) {
      if (outlet.type === "alias") {
        await ensureAlias(database, trx, outlet.name, outlet.group);
        continue;
      }
      const assetId = await ensureAsset(database, trx, outlet, now, true);
      await trx
        .insertInto("task_outlet_asset_reference")
        .values({ asset_id: assetId, dag_id: dag.dagId, task_id: task.taskId, created_at: now })
        .execute();
    }
  if (dag.schedule?.kind !== "assets") return;
  const { assets, aliases } = conditionLeaves(dag.schedule.condition);
  for (const [uri, name] of assets) {
    const ref = { uri, name, group: "asset", extra: {} };
    const assetId = await ensureAsset(database, trx, ref, now, false);
    await trx
      .insertInto("dag_schedule_asset_reference")
      .values({ asset_id: assetId, dag_id: dag.dagId, created_at: now })
      .execute();
  }
  for (const name of aliases) {
    const aliasId = await ensureAlias(database, trx, name, "asset");
    await trx
      .insertInto("dag_schedule_asset_alias_reference")
      .values({ alias_id: aliasId, dag_id: dag.dagId, created_at: now })
      .execute();
  }
}

/**
 * Drops a deleted DAG's references, queue and its runs' links to events (DAG deletion calls it in its
 * transaction, before the runs go). The events stay: they belong to their assets.
 */
export async function deleteDagAssetRows(trx: Transaction<Tables>, dagId: string): Promise<void> {
  await trx
    .deleteFrom("dagrun_asset_event")
    .where("dag_run_id", "in", trx.selectFrom("dag_run").select("id").where("dag_id", "=", dagId))
    .execute();
  await trx.deleteFrom("dag_schedule_asset_reference").where("dag_id", "=", dagId).execute();
  await trx.deleteFrom("dag_schedule_asset_alias_reference").where("dag_id", "=", dagId).execute();
  await trx.deleteFrom("task_outlet_asset_reference").where("dag_id", "=", dagId).execute();
  await trx.deleteFrom("asset_dag_run_queue").where("target_dag_id", "=", dagId).execute();
}

/**
 * Records events and queues them for every DAG scheduled on their asset (directly or through an alias
 * that resolves to it), active and not paused (Airflow's), in the caller's transaction. Answers the ids.
 */
export async function recordAssetEvents(
  database: Database,
  trx: Transaction<Tables>,
  drafts: readonly AssetEventDraft[],
  now: string,
): Promise<number[]> {
  const ids: number[] = [];
  for (const draft of drafts) {
    const assetId = await ensureAsset(database, trx, draft.asset, now, false);
    if (draft.alias) {
      const aliasId = await ensureAlias(database, trx, draft.alias.name, draft.alias.group);
      await upsert(
        database,
        trx,
        "asset_alias_asset",
        { alias_id: aliasId, asset_id: assetId },
        ["alias_id", "asset_id"],
        ["asset_id"],
      );
    }
    ids.push(await insertEvent(database, trx, assetId, draft, now));
    await queueForConsumers(database, trx, assetId, now);
  }
  return ids;
}

async function insertEvent(database: Database, trx: Db, assetId: number, d: AssetEventDraft, now: string) {
  const insert = trx.insertInto("asset_event").values({
    asset_id: assetId,
    extra: JSON.stringify(d.extra),
    source_dag_id: d.source?.dagId ?? null,
    source_task_id: d.source?.taskId ?? null,
    source_run_id: d.source?.runId ?? null,
    source_map_index: d.source?.mapIndex ?? null,
    source_alias_name: d.alias?.name ?? null,
    timestamp: now,
  });
  if (database.adapter.capabilities.supportsReturning)
    return (await insert.returning("id").executeTakeFirstOrThrow()).id;
  return Number((await insert.executeTakeFirstOrThrow()).insertId);
}

/** The (asset, DAG) queue rows: one per pair; a second event before the run keeps the first's time. */
async function queueForConsumers(database: Database, trx: Db, assetId: number, now: string): Promise<void> {
  const direct = trx
    .selectFrom("dag_schedule_asset_reference as r")
    .innerJoin("dag", "dag.dag_id", "r.dag_id")
    .select("r.dag_id")
    .where("r.asset_id", "=", assetId)
    .where("dag.is_active", "=", 1)
    .where("dag.is_paused", "=", 0);
  const viaAlias = trx
    .selectFrom("dag_schedule_asset_alias_reference as r")
    .innerJoin("asset_alias_asset as aa", "aa.alias_id", "r.alias_id")
    .innerJoin("dag", "dag.dag_id", "r.dag_id")
    .select("r.dag_id")
    .where("aa.asset_id", "=", assetId)
    .where("dag.is_active", "=", 1)
    .where("dag.is_paused", "=", 0);
  const dagIds = new Set((await direct.union(viaAlias).execute()).map((r) => r.dag_id));
  for (const dagId of [...dagIds].sort()) {
    const row = { asset_id: assetId, target_dag_id: dagId, created_at: now };
    await upsert(database, trx, "asset_dag_run_queue", row, ["asset_id", "target_dag_id"], ["asset_id"]);
  }
}

/** A queue row as the scheduler reads it. */
export interface QueuedAssetEvent {
  assetId: number;
  uri: string;
  createdAt: string;
}

/** The DAGs with queued events, active and not paused, oldest first. */
export async function dagsWithQueuedEvents(db: Db, limit = 100): Promise<string[]> {
  const rows = await db
    .selectFrom("asset_dag_run_queue as q")
    .innerJoin("dag", "dag.dag_id", "q.target_dag_id")
    .select("q.target_dag_id")
    .where("dag.is_active", "=", 1)
    .where("dag.is_paused", "=", 0)
    .groupBy("q.target_dag_id")
    .orderBy("q.target_dag_id")
    .limit(limit)
    .execute();
  return rows.map((r) => r.target_dag_id);
}

export async function queuedFor(db: Db, dagId: string): Promise<QueuedAssetEvent[]> {
  const rows = await db
    .selectFrom("asset_dag_run_queue as q")
    .innerJoin("asset", "asset.id", "q.asset_id")
    .select(["q.asset_id", "asset.uri", "q.created_at"])
    .where("q.target_dag_id", "=", dagId)
    .orderBy("q.asset_id")
    .execute();
  return rows.map((r) => ({ assetId: r.asset_id, uri: r.uri, createdAt: r.created_at }));
}

/** The URIs each of `aliases` has resolved to. */
export async function aliasTargets(db: Db, aliases: readonly string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  if (aliases.length === 0) return out;
  const rows = await db
    .selectFrom("asset_alias as al")
    .innerJoin("asset_alias_asset as aa", "aa.alias_id", "al.id")
    .innerJoin("asset", "asset.id", "aa.asset_id")
    .select(["al.name", "asset.uri"])
    .where("al.name", "in", [...aliases])
    .execute();
  for (const r of rows) out.set(r.name, [...(out.get(r.name) ?? []), r.uri]);
  return out;
}

/**
 * How far before a queue row's time its events are looked for: an event whose transaction began
 * earlier but committed later than the one that queued the row still belongs to this run.
 */
const STRAGGLER_MS = 5 * 60_000;

/**
 * Takes the DAG's queue rows by key and answers the events they stand for: each queued asset's events
 * not yet attached to a run of this DAG, from a little before its row was queued (every committed one
 * after: a later one's clock may be behind). Null
 * when another scheduler took any of the rows first, so the caller creates no run: the DELETE's count
 * is the decision, exact under several schedulers; "not yet attached" keeps an event in one run.
 */
export async function takeQueue(
  trx: Transaction<Tables>,
  dagId: string,
  queued: readonly QueuedAssetEvent[],
): Promise<{ id: number; timestamp: string }[] | null> {
  let taken = 0;
  for (const q of queued) {
    const result = await trx
      .deleteFrom("asset_dag_run_queue")
      .where("asset_id", "=", q.assetId)
      .where("target_dag_id", "=", dagId)
      .where("created_at", "=", q.createdAt)
      .executeTakeFirst();
    taken += Number(result.numDeletedRows);
  }
  if (taken !== queued.length) return null;
  const attached = trx
    .selectFrom("dagrun_asset_event as d")
    .innerJoin("dag_run as r", "r.id", "d.dag_run_id")
    .select("d.event_id")
    .where("r.dag_id", "=", dagId);
  const events = [];
  for (const q of queued) {
    const since = new Date(Date.parse(q.createdAt) - STRAGGLER_MS).toISOString();
    events.push(
      ...(await trx
        .selectFrom("asset_event")
        .select(["id", "timestamp"])
        .where("asset_id", "=", q.assetId)
        .where("timestamp", ">=", since)
        .where("id", "not in", attached)
        .execute()),
    );
  }
  return events.sort((a, b) => a.id - b.id);
}

/** Attaches the events to the run (Airflow's dagrun_asset_event). */
export async function attachEvents(trx: Transaction<Tables>, dagRunId: number, eventIds: readonly number[]) {
  if (eventIds.length === 0) return;
  await trx
    .insertInto("dagrun_asset_event")
    .values(eventIds.map((event_id) => ({ dag_run_id: dagRunId, event_id })))
    .execute();
}

/** The API's event (Airflow's POST /assets/events): null when the asset does not exist. */
export async function createApiAssetEvent(
  database: Database,
  assetId: number,
  extra: Record<string, unknown>,
  now: string,
): Promise<number | null> {
  return database.db.transaction().execute(async (trx) => {
    const row = await trx.selectFrom("asset").selectAll().where("id", "=", assetId).executeTakeFirst();
    if (!row) return null;
    const asset = {
      uri: row.uri,
      name: row.name,
      group: row.asset_group,
      extra: JSON.parse(row.extra) as Record<string, unknown>,
    };
    const [id] = await recordAssetEvents(database, trx, [{ asset, extra, source: null }], now);
    return id!;
  });
}

/** An asset event as the API, the UI and a run's context show it. */
export interface AssetEventView {
  id: number;
  assetId: number;
  uri: string;
  name: string;
  group: string;
  extra: Record<string, unknown>;
  sourceDagId: string | null;
  sourceTaskId: string | null;
  sourceRunId: string | null;
  sourceMapIndex: number | null;
  sourceAliasName: string | null;
  timestamp: string;
}

/** The events as they are selected by eventsQuery. */
export function eventsQuery(db: Db) {
  return db
    .selectFrom("asset_event as e")
    .innerJoin("asset as a", "a.id", "e.asset_id")
    .select([
      "e.id",
      "e.asset_id",
      "a.uri",
      "a.name",
      "a.asset_group",
      "e.extra",
      "e.source_dag_id",
      "e.source_task_id",
      "e.source_run_id",
      "e.source_map_index",
      "e.source_alias_name",
      "e.timestamp",
    ]);
}

export function eventView(r: {
  id: number;
  asset_id: number;
  uri: string;
  name: string;
  asset_group: string;
  extra: string;
  source_dag_id: string | null;
  source_task_id: string | null;
  source_run_id: string | null;
  source_map_index: number | null;
  source_alias_name: string | null;
  timestamp: string;
}): AssetEventView {
  return {
    id: r.id,
    assetId: r.asset_id,
    uri: r.uri,
    name: r.name,
    group: r.asset_group,
    extra: JSON.parse(r.extra) as Record<string, unknown>,
    sourceDagId: r.source_dag_id,
    sourceTaskId: r.source_task_id,
    sourceRunId: r.source_run_id,
    sourceMapIndex: r.source_map_index,
    sourceAliasName: r.source_alias_name,
    timestamp: r.timestamp,
  };
}

/** The events a run was started by (dagrun_asset_event), oldest first. */
export async function eventsOfRun(db: Db, dagRunId: number): Promise<AssetEventView[]> {
  const rows = await eventsQuery(db)
    .innerJoin("dagrun_asset_event as d", "d.event_id", "e.id")
    .where("d.dag_run_id", "=", dagRunId)
    .orderBy("e.id")
    .execute();
  return rows.map(eventView);
}
