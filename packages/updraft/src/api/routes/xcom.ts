/** XCom entries over the API: list (with `~` wildcards), read, create, update, delete. */
import { taskById } from "../../core/serialized.ts";
import type { Database } from "../../storage/database.ts";
import { dagStore } from "../../storage/dags.ts";
import { dagRunStore } from "../../storage/dag-runs.ts";
import { encodeXCom, xcomStore } from "../../storage/xcom.ts";
import type { FastifyRequest } from "fastify";
import type { ApiContext } from "../app.ts";
import { badRequest, notFound } from "../errors.ts";
import type { components } from "../generated/airflow-v2.ts";
import { countTotal, likeAny, paging, rangeOf } from "../paging.ts";

type XComResponse = components["schemas"]["XComResponse"];

function xcomQuery(database: Database) {
  return database.db
    .selectFrom("xcom as x")
    .innerJoin("dag_run as dr", "dr.id", "x.dag_run_id")
    .select([
      "x.dag_run_id",
      "x.dag_id",
      "x.run_id",
      "x.task_id",
      "x.map_index",
      "x.key",
      "x.value",
      "x.timestamp",
      "dr.logical_date",
      "dr.run_after",
    ]);
}
type XComRow = Awaited<ReturnType<ReturnType<typeof xcomQuery>["executeTakeFirstOrThrow"]>>;

const entry = (x: XComRow): XComResponse => ({
  key: x.key,
  timestamp: x.timestamp,
  logical_date: x.logical_date,
  map_index: x.map_index,
  task_id: x.task_id,
  dag_id: x.dag_id,
  run_id: x.run_id,
  dag_display_name: x.dag_id,
  task_display_name: x.task_id,
  run_after: x.run_after,
});

const decode = (x: XComRow): unknown => (x.value == null ? null : JSON.parse(x.value));

interface XComKey {
  dagId: string;
  runId: string;
  taskId: string;
  key: string;
  mapIndex: number;
}

async function findXCom(database: Database, k: XComKey): Promise<XComRow | undefined> {
  return xcomQuery(database)
    .where("x.dag_id", "=", k.dagId)
    .where("x.run_id", "=", k.runId)
    .where("x.task_id", "=", k.taskId)
    .where("x.key", "=", k.key)
    .where("x.map_index", "=", k.mapIndex)
    .executeTakeFirst();
}

export function registerXComRoutes(ctx: ApiContext): void {
  const { database } = ctx;
  const maxBytes = () => ctx.config.values.core.xcom_max_size;

  ctx.route("get_xcom_entries", async ({ params, query }) => {
    let q = xcomQuery(database);
    if (params.dag_id !== "~") q = q.where("x.dag_id", "=", params.dag_id);
    if (params.dag_run_id !== "~") q = q.where("x.run_id", "=", params.dag_run_id);
    if (params.task_id !== "~") q = q.where("x.task_id", "=", params.task_id);
    if (query.map_index != null) q = q.where("x.map_index", "=", query.map_index);
    if (query.map_index_filter != null) q = q.where("x.map_index", "=", query.map_index_filter);
    if (query.xcom_key != null) q = q.where("x.key", "=", query.xcom_key);
    for (const [column, pattern] of [
      ["x.key", query.xcom_key_pattern],
      ["x.dag_id", query.dag_display_name_pattern],
      ["x.run_id", query.run_id_pattern],
      ["x.task_id", query.task_id_pattern],
    ] as const)
      if (pattern) q = q.where(likeAny(column, pattern));
    for (const [op, value] of rangeOf(query, "logical_date")) q = q.where("dr.logical_date", op, value);
    for (const [op, value] of rangeOf(query, "run_after")) q = q.where("dr.run_after", op, value);
    const total = await countTotal(database.db, q);
    const { limit, offset } = paging(query);
    const rows = await q
      .orderBy("x.dag_id")
      .orderBy("x.task_id")
      .orderBy("x.run_id")
      .orderBy("x.map_index")
      .orderBy("x.key")
      .limit(limit)
      .offset(offset)
      .execute();
    return { xcom_entries: rows.map(entry), total_entries: total };
  });

  ctx.route("get_xcom_entry", async ({ params, query }) => {
    const x = await findXCom(database, {
      dagId: params.dag_id,
      runId: params.dag_run_id,
      taskId: params.task_id,
      key: params.xcom_key,
      mapIndex: query.map_index ?? -1,
    });
    if (!x) throw notFound(`XCom entry with key: \`${params.xcom_key}\` not found`);
    const value = decode(x);
    if (query.stringify)
      return {
        ...entry(x),
        value: value === null ? null : typeof value === "string" ? value : JSON.stringify(value),
      };
    return { ...entry(x), value };
  });

  /** After a write: audit it and answer the entry as now stored. */
  async function written(raw: FastifyRequest, event: string, k: XComKey) {
    await ctx.audit(raw, event, {
      dagId: k.dagId,
      runId: k.runId,
      taskId: k.taskId,
      mapIndex: k.mapIndex,
      extra: { key: k.key },
    });
    const x = (await findXCom(database, k))!;
    return { ...entry(x), value: decode(x) };
  }

  ctx.route(
    "create_xcom_entry",
    async ({ params, body, raw }) => {
      const dag = await dagStore(database).getSerialized(params.dag_id);
      if (!dag) throw notFound(`The Dag with ID: \`${params.dag_id}\` was not found`);
      if (!taskById(dag, params.task_id))
        throw notFound(`Task with ID: \`${params.task_id}\` not found in dag: \`${params.dag_id}\``);
      const run = await dagRunStore(database).get(params.dag_id, params.dag_run_id);
      if (!run)
        throw notFound(`Dag Run with ID: \`${params.dag_run_id}\` not found for dag: \`${params.dag_id}\``);
      const k = {
        dagId: params.dag_id,
        runId: params.dag_run_id,
        taskId: params.task_id,
        key: body.key,
        mapIndex: body.map_index ?? -1,
      };
      if (await findXCom(database, k))
        throw badRequest(
          `The XCom with key: \`${body.key}\` with mentioned task instance already exists: change it with PATCH instead`,
        );
      const encoded = encodeXCom(body.value, maxBytes(), `XCom "${body.key}"`);
      await xcomStore(database).push({ dagRunId: run.id, ...k }, encoded, ctx.now());
      return written(raw, "create_xcom_entry", k);
    },
    { status: 201 },
  );

  ctx.route("update_xcom_entry", async ({ params, body, raw }) => {
    const k = {
      dagId: params.dag_id,
      runId: params.dag_run_id,
      taskId: params.task_id,
      key: params.xcom_key,
      mapIndex: body.map_index ?? -1,
    };
    const current = await findXCom(database, k);
    if (!current)
      throw notFound(`The XCom with key: \`${k.key}\` with mentioned task instance doesn't exist.`);
    const encoded = encodeXCom(body.value, maxBytes(), `XCom "${k.key}"`);
    await xcomStore(database).push({ dagRunId: current.dag_run_id, ...k }, encoded, ctx.now());
    return written(raw, "update_xcom_entry", k);
  });

  ctx.route("delete_xcom_entry", async ({ params, query, raw }) => {
    const k = {
      dagId: params.dag_id,
      runId: params.dag_run_id,
      taskId: params.task_id,
      key: params.xcom_key,
      mapIndex: query.map_index ?? -1,
    };
    const current = await findXCom(database, k);
    if (!current) throw notFound(`XCom entry with key: \`${k.key}\` not found`);
    await xcomStore(database).delete(current.dag_run_id, k.taskId, k.key, k.mapIndex);
    await ctx.audit(raw, "delete_xcom_entry", {
      dagId: k.dagId,
      runId: k.runId,
      taskId: k.taskId,
      mapIndex: k.mapIndex,
      extra: { key: k.key },
    });
    return null;
  });
}
