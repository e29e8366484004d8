/**
 * Airflow 3's asset paths (/api/v2/assets...): HTTP only; what they answer is operations/assets.ts,
 * shared with the CLI. POST /assets/events records an event (source: the API) and queues it for the
 * consuming DAGs in one transaction. Updraft has no materialize yet (404, as for an asset without a
 * producing DAG in Airflow).
 */
import type { ApiContext } from "../app.ts";
import { notFound } from "../errors.ts";
import {
  createAssetEvent,
  deleteQueuedEvents,
  getAsset,
  getAssetAlias,
  listAssetAliases,
  listAssetEvents,
  listAssets,
  queuedEvents,
} from "../../operations/assets.ts";
import { paging, rangeOf } from "../paging.ts";

const first = (order: string[] | string | undefined) => (Array.isArray(order) ? order[0] : order);

export function registerAssetRoutes(ctx: ApiContext): void {
  const { database } = ctx;

  ctx.route("get_assets", async ({ query }) =>
    listAssets(database, {
      ...paging(query),
      namePattern: query.name_pattern,
      uriPattern: query.uri_pattern,
      dagIds: query.dag_ids,
      orderBy: first(query.order_by),
    }),
  );
  ctx.route("get_asset", async ({ params }) => getAsset(database, Number(params.asset_id)));
  ctx.route("get_asset_aliases", async ({ query }) =>
    listAssetAliases(database, { ...paging(query), namePattern: query.name_pattern }),
  );
  ctx.route("get_asset_alias", async ({ params }) => getAssetAlias(database, Number(params.asset_alias_id)));

  ctx.route("get_asset_events", async ({ query }) =>
    listAssetEvents(database, {
      ...paging(query),
      assetId: query.asset_id,
      sourceDagId: query.source_dag_id,
      sourceTaskId: query.source_task_id,
      sourceRunId: query.source_run_id,
      sourceMapIndex: query.source_map_index,
      namePattern: query.name_pattern,
      timestamp: rangeOf(query, "timestamp").map(([op, v]) => [op, new Date(v).toISOString()]),
      orderBy: first(query.order_by),
    }),
  );

  ctx.route("create_asset_event", async ({ body, raw }) => {
    const event = await createAssetEvent(database, body.asset_id, body.extra ?? {});
    await ctx.audit(raw, "create_asset_event", { extra: { asset_id: body.asset_id } });
    return event;
  });

  ctx.route("materialize_asset", async ({ params }) => {
    await getAsset(database, Number(params.asset_id));
    throw notFound(
      `No DAG found producing asset with ID: \`${params.asset_id}\` that Updraft can materialize yet`,
    );
  });

  ctx.route("get_asset_queued_events", async ({ params, query }) => {
    const assetId = Number(params.asset_id);
    return queuedEvents(database, { assetId, before: query.before });
  });
  ctx.route("delete_asset_queued_events", async ({ params, query, raw }) => {
    const assetId = Number(params.asset_id);
    if ((await deleteQueuedEvents(database, { assetId, before: query.before })) === 0)
      throw notFound(`Queue event with asset_id: \`${assetId}\` was not found`);
    await ctx.audit(raw, "delete_asset_queued_events", { extra: { asset_id: assetId } });
  });

  ctx.route("get_dag_asset_queued_events", async ({ params, query }) => {
    return queuedEvents(database, { dagId: params.dag_id, before: query.before });
  });
  ctx.route("delete_dag_asset_queued_events", async ({ params, query, raw }) => {
    if ((await deleteQueuedEvents(database, { dagId: params.dag_id, before: query.before })) === 0)
      throw notFound(`Queue event with dag_id: \`${params.dag_id}\` was not found`);
    await ctx.audit(raw, "delete_dag_asset_queued_events", { dagId: params.dag_id });
  });
  ctx.route("get_dag_asset_queued_event", async ({ params, query }) => {
    const assetId = Number(params.asset_id);
    const answer = await queuedEvents(database, { dagId: params.dag_id, assetId, before: query.before });
    const [queued] = answer.queued_events;
    if (!queued)
      throw notFound(
        `Queued event with dag_id: \`${params.dag_id}\` and asset_id: \`${assetId}\` was not found`,
      );
    return queued;
  });
  ctx.route("delete_dag_asset_queued_event", async ({ params, query, raw }) => {
    const assetId = Number(params.asset_id);
    if ((await deleteQueuedEvents(database, { dagId: params.dag_id, assetId, before: query.before })) === 0)
      throw notFound(
        `Queued event with dag_id: \`${params.dag_id}\` and asset_id: \`${assetId}\` was not found`,
      );
    await ctx.audit(raw, "delete_dag_asset_queued_event", {
      dagId: params.dag_id,
      extra: { asset_id: assetId },
    });
  });
}
