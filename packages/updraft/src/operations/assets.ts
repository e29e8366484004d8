/**
 * What users ask of assets, shared by the REST API (api/routes/assets.ts) and the CLI (`updraft
 * assets list|details`): the assets with their producers (tasks), consumers (DAGs), aliases and last
 * event; their events with the runs each started; the events queued for DAGs; and creating an event
 * by hand (Airflow's POST /assets/events), which queues it for the consumers as a task's would.
 * Shapes are Airflow 3's (AssetResponse, AssetEventResponse, QueuedEventResponse).
 */
import type { Kysely, Selectable, SelectQueryBuilder } from "kysely";
import { NotFoundError } from "../core/errors.ts";
import {
  createApiAssetEvent,
  eventsOfRun,
  eventsQuery,
  eventView,
  type AssetEventView,
} from "../storage/assets.ts";
import type { Database } from "../storage/database.ts";
import { nowIso } from "../storage/database.ts";
import type { Tables } from "../storage/schema.ts";

export interface AssetFilter {
  limit: number;
  offset: number;
  namePattern?: string | null;
  uriPattern?: string | null;
  dagIds?: string[];
  /** "id", "name", "uri", "created_at", "updated_at", a leading "-" for descending. */
  orderBy?: string;
}

const ASSET_ORDER = new Set(["id", "name", "uri", "created_at", "updated_at"]);

/** Airflow's `%`-and-`_` pattern search, case-insensitive. */
const like = (pattern: string) => `%${pattern.toLowerCase()}%`;

export async function listAssets(database: Database, f: AssetFilter) {
  const { db } = database;
  let q = db.selectFrom("asset").selectAll();
  if (f.namePattern) q = q.where((eb) => eb(eb.fn("lower", ["name"]), "like", like(f.namePattern!)));
  if (f.uriPattern) q = q.where((eb) => eb(eb.fn("lower", ["uri"]), "like", like(f.uriPattern!)));
  if (f.dagIds?.length) {
    const dagIds = f.dagIds;
    q = q.where((eb) =>
      eb.or([
        eb(
          "id",
          "in",
          eb.selectFrom("dag_schedule_asset_reference").select("asset_id").where("dag_id", "in", dagIds),
        ),
        eb(
          "id",
          "in",
          eb.selectFrom("task_outlet_asset_reference").select("asset_id").where("dag_id", "in", dagIds),
        ),
      ]),
    );
  }
  const total = await countOf(q);
  const order = f.orderBy ?? "id";
  const column = order.replace(/^-/, "");
  if (!ASSET_ORDER.has(column))
    throw new NotFoundError(
      `Ordering with '${column}' is disallowed or the attribute does not exist on the model`,
    );
  const rows = await q
    .orderBy(column as "id", order.startsWith("-") ? "desc" : "asc")
    .orderBy("id")
    .limit(f.limit)
    .offset(f.offset)
    .execute();
  const assets = await Promise.all(rows.map((r) => assetResponse(db, r)));
  return { assets, total_entries: total };
}

export async function getAsset(database: Database, assetId: number) {
  const row = await database.db.selectFrom("asset").selectAll().where("id", "=", assetId).executeTakeFirst();
  if (!row) throw new NotFoundError(`The Asset with ID: \`${assetId}\` was not found`);
  return assetResponse(database.db, row);
}

/** One asset by name or URI (the CLI's `assets details`). */
export async function findAsset(database: Database, by: { name?: string; uri?: string }) {
  let q = database.db.selectFrom("asset").selectAll();
  if (by.uri !== undefined) q = q.where("uri", "=", by.uri);
  if (by.name !== undefined) q = q.where("name", "=", by.name);
  const row = await q.orderBy("id").executeTakeFirst();
  if (!row)
    throw new NotFoundError(
      `asset ${by.uri !== undefined ? `with URI "${by.uri}"` : `named "${by.name}"`} does not exist: see \`updraft assets list\``,
    );
  return assetResponse(database.db, row);
}

/** An asset with its consumers, producers, aliases and last event (Airflow's AssetResponse). */
async function assetResponse(db: Kysely<Tables>, r: Selectable<Tables["asset"]>) {
  const [scheduled, producing, aliases, last] = await Promise.all([
    db
      .selectFrom("dag_schedule_asset_reference")
      .select(["dag_id", "created_at"])
      .where("asset_id", "=", r.id)
      .orderBy("dag_id")
      .execute(),
    db
      .selectFrom("task_outlet_asset_reference")
      .select(["dag_id", "task_id", "created_at"])
      .where("asset_id", "=", r.id)
      .orderBy("dag_id")
      .orderBy("task_id")
      .execute(),
    db
      .selectFrom("asset_alias as al")
      .innerJoin("asset_alias_asset as aa", "aa.alias_id", "al.id")
      .select(["al.id", "al.name", "al.asset_group"])
      .where("aa.asset_id", "=", r.id)
      .orderBy("al.name")
      .execute(),
    db
      .selectFrom("asset_event")
      .select(["id", "timestamp"])
      .where("asset_id", "=", r.id)
      .orderBy("timestamp", "desc")
      .orderBy("id", "desc")
      .limit(1)
      .executeTakeFirst(),
  ]);
  return {
    id: r.id,
    name: r.name,
    uri: r.uri,
    group: r.asset_group,
    extra: JSON.parse(r.extra) as Record<string, unknown>,
    created_at: r.created_at,
    updated_at: r.updated_at,
    scheduled_dags: scheduled.map((s) => ({
      dag_id: s.dag_id,
      created_at: s.created_at,
      updated_at: s.created_at,
    })),
    producing_tasks: producing.map((p) => ({
      dag_id: p.dag_id,
      task_id: p.task_id,
      created_at: p.created_at,
      updated_at: p.created_at,
    })),
    consuming_tasks: [],
    aliases: aliases.map((a) => ({ id: a.id, name: a.name, group: a.asset_group })),
    watchers: [],
    last_asset_event: last ? { id: last.id, timestamp: last.timestamp } : null,
  };
}

export interface EventFilter {
  limit: number;
  offset: number;
  assetId?: number | null;
  sourceDagId?: string | null;
  sourceTaskId?: string | null;
  sourceRunId?: string | null;
  sourceMapIndex?: number | null;
  namePattern?: string | null;
  timestamp?: [">=" | ">" | "<=" | "<", string][];
  /** "timestamp" (default), "id", "source_dag_id", ...; a leading "-" for descending. */
  orderBy?: string;
}

const EVENT_ORDER: Record<string, string> = {
  id: "e.id",
  timestamp: "e.timestamp",
  source_dag_id: "e.source_dag_id",
  source_task_id: "e.source_task_id",
  source_run_id: "e.source_run_id",
  source_map_index: "e.source_map_index",
  asset_id: "e.asset_id",
};

export async function listAssetEvents(database: Database, f: EventFilter) {
  let q = eventsQuery(database.db);
  if (f.assetId != null) q = q.where("e.asset_id", "=", f.assetId);
  if (f.sourceDagId) q = q.where("e.source_dag_id", "=", f.sourceDagId);
  if (f.sourceTaskId) q = q.where("e.source_task_id", "=", f.sourceTaskId);
  if (f.sourceRunId) q = q.where("e.source_run_id", "=", f.sourceRunId);
  if (f.sourceMapIndex != null) q = q.where("e.source_map_index", "=", f.sourceMapIndex);
  if (f.namePattern) q = q.where((eb) => eb(eb.fn("lower", ["a.name"]), "like", like(f.namePattern!)));
  for (const [op, value] of f.timestamp ?? []) q = q.where("e.timestamp", op, value);
  const total = await countOf(q);
  const order = f.orderBy ?? "timestamp";
  const column = EVENT_ORDER[order.replace(/^-/, "")];
  if (!column)
    throw new NotFoundError(
      `Ordering with '${order.replace(/^-/, "")}' is disallowed or the attribute does not exist on the model`,
    );
  const rows = await q
    .orderBy(column as "e.id", order.startsWith("-") ? "desc" : "asc")
    .orderBy("e.id")
    .limit(f.limit)
    .offset(f.offset)
    .execute();
  const events = await eventResponses(database.db, rows.map(eventView));
  return { asset_events: events, total_entries: total };
}

/** Events as Airflow's AssetEventResponse, each with the runs it started (created_dagruns). */
export async function eventResponses(db: Kysely<Tables>, events: readonly AssetEventView[]) {
  const ids = events.map((e) => e.id);
  const runs = ids.length
    ? await db
        .selectFrom("dagrun_asset_event as d")
        .innerJoin("dag_run as r", "r.id", "d.dag_run_id")
        .select([
          "d.event_id",
          "r.run_id",
          "r.dag_id",
          "r.logical_date",
          "r.start_date",
          "r.end_date",
          "r.state",
          "r.data_interval_start",
          "r.data_interval_end",
          "r.queued_at",
        ])
        .where("d.event_id", "in", ids)
        .orderBy("r.id")
        .execute()
    : [];
  return events.map((e) => ({
    id: e.id,
    asset_id: e.assetId,
    uri: e.uri,
    name: e.name,
    group: e.group,
    extra: e.extra,
    source_task_id: e.sourceTaskId,
    source_dag_id: e.sourceDagId,
    source_run_id: e.sourceRunId,
    source_map_index: e.sourceMapIndex ?? -1,
    created_dagruns: runs
      .filter((r) => r.event_id === e.id)
      .map((r) => ({
        run_id: r.run_id,
        dag_id: r.dag_id,
        logical_date: r.logical_date,
        // Not started yet: when it was queued (Airflow's field is never null).
        start_date: r.start_date ?? r.queued_at ?? e.timestamp,
        end_date: r.end_date,
        state: r.state,
        data_interval_start: r.data_interval_start,
        data_interval_end: r.data_interval_end,
        partition_key: null,
      })),
    timestamp: e.timestamp,
    partition_key: null,
  }));
}

/** Airflow's POST /assets/events: an event of the asset, queued for its consumers, in one transaction. */
export async function createAssetEvent(database: Database, assetId: number, extra: Record<string, unknown>) {
  const id = await createApiAssetEvent(database, assetId, extra, nowIso());
  if (id === null) throw new NotFoundError(`Asset with ID: \`${assetId}\` was not found`);
  const row = await eventsQuery(database.db).where("e.id", "=", id).executeTakeFirstOrThrow();
  const [event] = await eventResponses(database.db, [eventView(row)]);
  return event!;
}

/** The events queued for DAGs (Airflow's QueuedEventResponse), by asset or by DAG. */
export async function queuedEvents(
  database: Database,
  by: { assetId?: number; dagId?: string; before?: string | null },
) {
  let q = database.db
    .selectFrom("asset_dag_run_queue as q")
    .select(["q.target_dag_id", "q.asset_id", "q.created_at"]);
  if (by.assetId !== undefined) q = q.where("q.asset_id", "=", by.assetId);
  if (by.dagId !== undefined) q = q.where("q.target_dag_id", "=", by.dagId);
  if (by.before) q = q.where("q.created_at", "<", by.before);
  const rows = await q.orderBy("q.target_dag_id").orderBy("q.asset_id").execute();
  const queued = rows.map((r) => ({
    dag_id: r.target_dag_id,
    asset_id: r.asset_id,
    created_at: r.created_at,
    dag_display_name: r.target_dag_id,
  }));
  return { queued_events: queued, total_entries: queued.length };
}

/** Drops queued events (Airflow's DELETE .../queuedEvents); answers how many went. */
export async function deleteQueuedEvents(
  database: Database,
  by: { assetId?: number; dagId?: string; before?: string | null },
) {
  let q = database.db.deleteFrom("asset_dag_run_queue");
  if (by.assetId !== undefined) q = q.where("asset_id", "=", by.assetId);
  if (by.dagId !== undefined) q = q.where("target_dag_id", "=", by.dagId);
  if (by.before) q = q.where("created_at", "<", by.before);
  return Number((await q.executeTakeFirst()).numDeletedRows);
}

export async function listAssetAliases(
  database: Database,
  f: { limit: number; offset: number; namePattern?: string | null },
) {
  let q = database.db.selectFrom("asset_alias").selectAll();
  if (f.namePattern) q = q.where((eb) => eb(eb.fn("lower", ["name"]), "like", like(f.namePattern!)));
  const total = await countOf(q);
  const rows = await q.orderBy("id").limit(f.limit).offset(f.offset).execute();
  return {
    asset_aliases: rows.map((r) => ({ id: r.id, name: r.name, group: r.asset_group })),
    total_entries: total,
  };
}

export async function getAssetAlias(database: Database, aliasId: number) {
  const r = await database.db
    .selectFrom("asset_alias")
    .selectAll()
    .where("id", "=", aliasId)
    .executeTakeFirst();
  if (!r) throw new NotFoundError(`The Asset Alias with ID: \`${aliasId}\` was not found`);
  return { id: r.id, name: r.name, group: r.asset_group };
}

/** The events that started a run (GET .../upstreamAssetEvents). */
export async function upstreamAssetEvents(database: Database, dagRunId: number) {
  const events = await eventResponses(database.db, await eventsOfRun(database.db, dagRunId));
  return { asset_events: events, total_entries: events.length };
}

/** The rows a filtered list query matches, before paging. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any table, any selection
async function countOf(q: SelectQueryBuilder<any, any, any>): Promise<number> {
  const row = await q
    .clearSelect()
    .select((eb) => eb.fn.countAll().as("n"))
    .executeTakeFirstOrThrow();
  return Number((row as { n: number | string | bigint }).n);
}
