/** Task instances (list, batch, get, patch, tries, dependencies, logs), clearing, XCom entries. */
import { sql } from "kysely";
import { UpdraftError } from "../../core/errors.ts";
import { taskById, type SerializedDag } from "../../core/serialized.ts";
import { groupMembers, groupsOf } from "../../core/task-groups.ts";
import type { TaskInstanceState } from "../../core/states.ts";
import { clearChecked, exactly, type ClearOptions } from "../../operations/clear.ts";
import { explainDependencies } from "../../operations/explain-dependencies.ts";
import { MARKABLE_STATES, markTaskInstances } from "../../operations/mark-task-instances.ts";
import type { Database } from "../../storage/database.ts";
import type { TaskInstanceRow } from "../../storage/schema.ts";
import { dagStore } from "../../storage/dags.ts";
import { dagRunStore } from "../../storage/dag-runs.ts";
import { taskInstanceStore } from "../../storage/task-instances.ts";
import type { ApiContext, ApiRequest } from "../app.ts";
import { badRequest, errorResponse, HttpError, notFound } from "../errors.ts";
import type { components } from "../generated/airflow-v2.ts";
import { applyOrder, countTotal, likeAny, pageFromEnd, paging, rangeOf } from "../paging.ts";
import {
  findTi,
  requireTi,
  tiNotFound,
  tiQuery,
  oneTiResponse,
  tiResponses,
  triesOf,
  tryResponse,
  type TiRow,
} from "./task-instance-view.ts";
import { dagVersions } from "./dag-run-shapes.ts";
import { extraLinks } from "./extra-links.ts";
import { registerTaskLogRoutes } from "./task-logs.ts";
import { registerXComRoutes } from "./xcom.ts";

type Schemas = components["schemas"];
type TiQuery = ReturnType<typeof tiQuery>;

/** The states a task instance may be in, as the API names them; "none"/"no_status" mean no state yet. */
const API_STATES = [
  "removed",
  "scheduled",
  "queued",
  "running",
  "success",
  "restarting",
  "failed",
  "up_for_retry",
  "up_for_reschedule",
  "upstream_failed",
  "skipped",
  "deferred",
];

/** Sortable fields of task-instance lists (Airflow's), and the columns behind them. */
const ORDER_FIELDS: Record<string, string> = {
  // Updraft's task instances have no id column: the id is derived from the key, so sort by the task.
  id: "ti.task_id",
  state: "ti.state",
  duration: "ti.duration",
  start_date: "ti.start_date",
  end_date: "ti.end_date",
  map_index: "ti.map_index",
  try_number: "ti.try_number",
  logical_date: "dr.logical_date",
  run_after: "dr.run_after",
  data_interval_start: "dr.data_interval_start",
  data_interval_end: "dr.data_interval_end",
  rendered_map_index: "ti.map_index",
  operator: "ti.operator",
};
const TIE_BREAK = ["ti.dag_id", "dr.run_after", "ti.run_id", "ti.task_id", "ti.map_index"];

/** What a list of task instances may be filtered by (query parameters or a batch body). */
interface TiFilter {
  dagIds?: string[] | null;
  runIds?: string[] | null;
  taskIds?: string[] | null;
  states?: (string | null)[] | null;
  pools?: string[] | null;
  queues?: string[] | null;
  executors?: string[] | null;
  tryNumbers?: number[] | null;
  operators?: string[] | null;
  mapIndexes?: number[] | null;
  versionNumbers?: number[] | null;
  /** [column, LIKE pattern] */
  patterns?: [string, string | null | undefined][];
  /** [column, operator, value] */
  ranges?: [string, ">=" | ">" | "<=" | "<", string | number][];
}

/** The API's state values as stored: "none"/"no_status" (or null) is no state (NULL). */
function parseStates(states: (string | null)[] | null | undefined): (string | null)[] | undefined {
  if (!states || states.length === 0) return undefined;
  return states.map((s) => {
    if (s === null || s === "none" || s === "no_status") return null;
    if (!API_STATES.includes(s))
      throw badRequest(
        `Invalid value for state. Valid values are ${[...API_STATES, "no_status"].join(", ")}`,
      );
    return s;
  });
}

/** The filters the task-instance lists (all of a run's, a mapped task's) take alike. */
function listFilter(query: {
  state?: (string | null)[] | null;
  pool?: string[] | null;
  queue?: string[] | null;
  executor?: string[] | null;
  try_number?: number[] | null;
  operator?: string[] | null;
  map_index?: number[] | null;
  version_number?: number[] | null;
}): TiFilter {
  return {
    states: parseStates(query.state),
    pools: query.pool,
    queues: query.queue,
    executors: query.executor,
    tryNumbers: query.try_number,
    operators: query.operator,
    mapIndexes: query.map_index,
    versionNumbers: query.version_number,
  };
}

const nonEmpty = <T>(list: T[] | null | undefined): list is T[] => Array.isArray(list) && list.length > 0;

function applyFilter(q: TiQuery, f: TiFilter): TiQuery {
  let out = q;
  const inList = (column: string, values: (string | number)[] | null | undefined) => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a trusted, dynamic column
    if (nonEmpty(values)) out = out.where(sql.ref(column) as any, "in", values);
  };
  inList("ti.dag_id", f.dagIds);
  inList("ti.run_id", f.runIds);
  inList("ti.task_id", f.taskIds);
  inList("ti.pool", f.pools);
  inList("ti.queue", f.queues);
  inList("ti.executor", f.executors);
  inList("ti.try_number", f.tryNumbers);
  inList("ti.operator", f.operators);
  inList("ti.map_index", f.mapIndexes);
  if (nonEmpty(f.versionNumbers)) {
    const numbers = f.versionNumbers;
    out = out.where((eb) =>
      eb(
        "ti.dag_version_id",
        "in",
        eb
          .selectFrom("dag_version")
          .select("dag_version.id")
          .whereRef("dag_version.dag_id", "=", "ti.dag_id")
          .where("dag_version.version_number", "in", numbers),
      ),
    );
  }
  if (f.states) {
    const named = f.states.filter((s): s is string => s !== null);
    const none = f.states.some((s) => s === null);
    out = out.where((eb) =>
      eb.or([
        ...(named.length ? [eb("ti.state", "in", named)] : []),
        ...(none ? [eb("ti.state", "is", null)] : []),
      ]),
    );
  }
  for (const [column, pattern] of f.patterns ?? []) if (pattern) out = out.where(likeAny(column, pattern));
  for (const [column, op, value] of f.ranges ?? [])
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a trusted, dynamic column
    out = out.where(sql.ref(column) as any, op, value);
  return out;
}

/** Date ranges on the API's fields (query `<field>_gte` ...), with the columns behind them. */
function dateRanges(query: Record<string, unknown>): NonNullable<TiFilter["ranges"]> {
  const columns: Record<string, string> = {
    run_after: "dr.run_after",
    logical_date: "dr.logical_date",
    start_date: "ti.start_date",
    end_date: "ti.end_date",
    updated_at: "ti.updated_at",
  };
  const out: NonNullable<TiFilter["ranges"]> = [];
  for (const [field, column] of Object.entries(columns))
    for (const [op, value] of rangeOf(query, field)) out.push([column, op, value]);
  for (const [suffix, op] of [
    ["gte", ">="],
    ["gt", ">"],
    ["lte", "<="],
    ["lt", "<"],
  ] as const) {
    const value = query[`duration_${suffix}`];
    if (typeof value === "number") out.push(["ti.duration", op, value]);
  }
  return out;
}

/** Keys looked up per query when a page's full rows are read by key. */
const KEY_SLICE = 200;

/** A page of task instances and the total before paging. */
async function listTis(
  database: Database,
  filter: TiFilter,
  order: string[] | string | null | undefined,
  allowed: Record<string, string>,
  page: { limit: number; offset: number },
): Promise<Schemas["TaskInstanceCollectionResponse"]> {
  // Every task instance has its run, so the run is joined only when a filter or the order needs it.
  const byRun = [...(filter.ranges ?? []), ...(filter.patterns ?? [])].some(([column]) =>
    column.startsWith("dr."),
  );
  const fields = (Array.isArray(order) ? order : order ? [order] : ["map_index"])
    .flatMap((f) => f.split(","))
    .map((f) => f.trim().replace(/^-/, ""))
    .filter(Boolean);
  const orderByRun = fields.some((f) => !allowed[f] || allowed[f]!.startsWith("dr."));
  const tiOnly = () => database.db.selectFrom("task_instance as ti") as unknown as TiQuery;
  const total = await countTotal(database.db, applyFilter(byRun ? tiQuery(database) : tiOnly(), filter));
  const at = pageFromEnd(page, total);
  const inOrder = <T>(rows: T[]) => (at.reversed ? rows.reverse() : rows);
  if (at.limit === 0) return { task_instances: [], total_entries: total };
  if (byRun || orderByRun) {
    const rows = (await applyOrder(
      applyFilter(tiQuery(database), filter),
      order,
      allowed,
      "map_index",
      TIE_BREAK,
      database,
      at.reversed,
    )
      .limit(at.limit)
      .offset(at.offset)
      .execute()) as TiRow[];
    return { task_instances: await tiResponses(database, inOrder(rows)), total_entries: total };
  }
  // The page's keys from task_instance alone (its indexes serve the order), then their full rows.
  const keys = await applyOrder(
    applyFilter(tiOnly(), filter)
      .clearSelect()
      .select(["ti.dag_id", "ti.run_id", "ti.task_id", "ti.map_index"]),
    order,
    allowed,
    "map_index",
    ["ti.dag_id", "ti.run_id", "ti.task_id", "ti.map_index"],
    database,
    at.reversed,
  )
    .limit(at.limit)
    .offset(at.offset)
    .execute();
  if (keys.length === 0) return { task_instances: [], total_entries: total };
  const rows = await rowsByKey(database, inOrder(keys));
  return { task_instances: await tiResponses(database, rows), total_entries: total };
}

type TiKey = Pick<TiRow, "dag_id" | "run_id" | "task_id" | "map_index">;
const keyOf = (k: TiKey) => `${k.dag_id}\u0000${k.run_id}\u0000${k.task_id}\u0000${k.map_index}`;

/**
 * The full rows of a page's keys, in the keys' order: one `(key) IN (keys)` condition (the dialect's
 * form: PostgreSQL plans an OR of 200 ANDs slower than it runs it).
 */
async function rowsByKey(database: Database, keys: TiKey[]): Promise<TiRow[]> {
  const rows: TaskInstanceRow[] = [];
  for (let i = 0; i < keys.length; i += KEY_SLICE) {
    const slice = keys.slice(i, i + KEY_SLICE);
    const condition = database.adapter.keysIn(
      ["ti.dag_id", "ti.run_id", "ti.task_id", "ti.map_index"],
      slice.map((k) => [k.dag_id, k.run_id, k.task_id, k.map_index]),
      [false, false, false, true],
    );
    rows.push(
      ...(await database.db.selectFrom("task_instance as ti").selectAll("ti").where(condition).execute()),
    );
  }
  // Their runs' columns apart: joined, PostgreSQL misjudges the IN's rows and hashes all of dag_run.
  const runIds = [...new Set(rows.map((r) => r.dag_run_id))];
  const runs = new Map(
    (runIds.length
      ? await database.db
          .selectFrom("dag_run")
          .select(["id", "logical_date", "run_after", "state"])
          .where("id", "in", runIds)
          .execute()
      : []
    ).map((r) => [r.id, r]),
  );
  const full = rows.map((r): TiRow => ({
    ...r,
    run_logical_date: runs.get(r.dag_run_id)?.logical_date ?? null,
    run_after: runs.get(r.dag_run_id)!.run_after,
    run_state: runs.get(r.dag_run_id)!.state,
  }));
  const at = new Map(keys.map((k, i) => [keyOf(k), i]));
  return full.sort((a, b) => at.get(keyOf(a))! - at.get(keyOf(b))!);
}

const dagNotFound = (dagId: string) => notFound(`The Dag with ID: \`${dagId}\` was not found`);

async function requireDag(database: Database, dagId: string): Promise<SerializedDag> {
  const dag = await dagStore(database).getSerialized(dagId);
  if (!dag) throw dagNotFound(dagId);
  return dag;
}

interface PatchInput {
  dagId: string;
  runId: string;
  taskId: string;
  /** null: every map index of the task. */
  mapIndex: number | null;
  body: Schemas["PatchTaskInstanceBody"];
  updateMask?: string[] | null;
  dryRun: boolean;
}

/**
 * Airflow's patch of task instance(s): the fields the request sets (new_state, note), checked as
 * FastAPI would, then marked by the operation (operations/mark-task-instances.ts).
 */
async function patchTaskInstances(ctx: ApiContext, p: PatchInput) {
  const given = Object.keys(p.body).filter((k) => k === "new_state" || k === "note");
  const fields = p.updateMask?.length ? given.filter((f) => p.updateMask!.includes(f)) : given;
  const to = p.body.new_state;
  if (fields.includes("new_state") && (!to || !MARKABLE_STATES.includes(to as TaskInstanceState)))
    throw new HttpError(422, [
      {
        type: "value_error",
        loc: ["body", "new_state"],
        msg: `Value error, '${to ?? ""}' is not one of ['success', 'failed', 'skipped']`,
        input: to ?? null,
      },
    ]);
  const result = await markTaskInstances(ctx.database, {
    dagId: p.dagId,
    runId: p.runId,
    taskId: p.taskId,
    mapIndex: p.mapIndex,
    newState: fields.includes("new_state") ? (to as TaskInstanceState) : undefined,
    note: fields.includes("note") ? { text: p.body.note ?? null } : undefined,
    includeUpstream: p.body.include_upstream ?? false,
    includeDownstream: p.body.include_downstream ?? false,
    includePast: p.body.include_past ?? false,
    includeFuture: p.body.include_future ?? false,
    dryRun: p.dryRun,
    now: ctx.now(),
  });
  return { ...result, fields };
}

export function registerTaskInstanceRoutes(ctx: ApiContext): void {
  const { database } = ctx;

  /** The tasks of a group, inner groups' included (Airflow's task_group_id filter: exact group id). */
  async function tasksOfGroup(dagId: string, groupId: string): Promise<string[]> {
    if (dagId === "~")
      throw badRequest("task_group_id filters the tasks of one DAG: give its dag_id in the path");
    const dag = await dagStore(database).getSerialized(dagId);
    if (!dag || !groupsOf(dag).has(groupId)) throw notFound(`Task group ${groupId} not found`);
    return groupMembers(dag, groupId);
  }

  ctx.route("get_task_instances", async ({ params, query }) => {
    if (params.dag_run_id !== "~") {
      const run = await database.db
        .selectFrom("dag_run")
        .select("id")
        .where("run_id", "=", params.dag_run_id)
        .$if(params.dag_id !== "~", (q) => q.where("dag_id", "=", params.dag_id))
        .executeTakeFirst();
      if (!run) throw notFound(`DagRun with run_id: \`${params.dag_run_id}\` was not found`);
    }
    if (params.dag_id !== "~" && !(await dagStore(database).get(params.dag_id)))
      throw dagNotFound(params.dag_id);
    const groupTasks = query.task_group_id ? await tasksOfGroup(params.dag_id, query.task_group_id) : null;
    const filter: TiFilter = {
      dagIds: params.dag_id !== "~" ? [params.dag_id] : null,
      runIds: params.dag_run_id !== "~" ? [params.dag_run_id] : null,
      taskIds: query.task_id ? [query.task_id] : null,
      ...listFilter(query),
      patterns: [
        ["ti.task_id", query.task_display_name_pattern],
        ["ti.dag_id", query.dag_id_pattern],
        ["ti.run_id", query.run_id_pattern],
        ["ti.pool", query.pool_name_pattern],
        ["ti.queue", query.queue_name_pattern],
        ["ti.operator", query.operator_name_pattern],
      ],
      ranges: dateRanges(query),
    };
    if (groupTasks)
      filter.taskIds = filter.taskIds ? filter.taskIds.filter((id) => groupTasks.includes(id)) : groupTasks;
    if (filter.taskIds && filter.taskIds.length === 0) return { task_instances: [], total_entries: 0 };
    return listTis(database, filter, query.order_by, ORDER_FIELDS, paging(query));
  });

  ctx.route("get_task_instances_batch", async ({ body }) => {
    const filter: TiFilter = {
      dagIds: body.dag_ids,
      runIds: body.dag_run_ids,
      taskIds: body.task_ids,
      states: parseStates(body.state),
      pools: body.pool,
      queues: body.queue,
      executors: body.executor,
      ranges: dateRanges(body as Record<string, unknown>),
    };
    const allowed = Object.fromEntries(
      ["id", "state", "duration", "start_date", "end_date", "map_index"].map((f) => [f, ORDER_FIELDS[f]!]),
    );
    return listTis(database, filter, body.order_by, allowed, {
      limit: Math.min(body.page_limit ?? 100, 1000),
      offset: body.page_offset ?? 0,
    });
  });

  ctx.route("get_task_instance", async ({ params }) => {
    const ti = await findTi(database, {
      dagId: params.dag_id,
      runId: params.dag_run_id,
      taskId: params.task_id,
      mapIndex: -1,
    });
    if (!ti) {
      const dag = await dagStore(database).getSerialized(params.dag_id);
      if (dag && taskById(dag, params.task_id)?.task.expand)
        throw notFound(
          `Task instance ${params.task_id} of run ${params.dag_run_id} is mapped: add its map_index to the URL (.../taskInstances/${params.task_id}/{map_index}), or list them with .../listMapped`,
        );
      throw notFound(
        `The Task Instance with dag_id: \`${params.dag_id}\`, run_id: \`${params.dag_run_id}\` and task_id: \`${params.task_id}\` was not found`,
      );
    }
    return oneTiResponse(database, ti);
  });

  ctx.route("get_mapped_task_instance", async ({ params }) => {
    const ti = await findTi(database, {
      dagId: params.dag_id,
      runId: params.dag_run_id,
      taskId: params.task_id,
      mapIndex: params.map_index,
    });
    if (!ti)
      throw notFound(
        `The Mapped Task Instance with dag_id: \`${params.dag_id}\`, run_id: \`${params.dag_run_id}\`, task_id: \`${params.task_id}\`, and map_index: \`${params.map_index}\` was not found`,
      );
    return oneTiResponse(database, ti);
  });

  ctx.route("get_mapped_task_instances", async ({ params, query }) => {
    const dag = await requireDag(database, params.dag_id);
    const found = taskById(dag, params.task_id);
    if (!found) throw notFound(`Task id ${params.task_id} not found`);
    if (!found.task.expand) throw notFound(`Task id ${params.task_id} is not mapped`);
    const run = await database.db
      .selectFrom("dag_run")
      .select("id")
      .where("dag_id", "=", params.dag_id)
      .where("run_id", "=", params.dag_run_id)
      .executeTakeFirst();
    if (!run) throw notFound(`DagRun with run_id: \`${params.dag_run_id}\` was not found`);
    const filter: TiFilter = {
      dagIds: [params.dag_id],
      runIds: [params.dag_run_id],
      taskIds: [params.task_id],
      ...listFilter(query),
      // The instances of the expansion (a task not expanded yet has none).
      ranges: [...dateRanges(query), ["ti.map_index", ">=", 0]],
    };
    return listTis(database, filter, query.order_by, ORDER_FIELDS, paging(query));
  });

  const tries = async (dagId: string, runId: string, taskId: string, mapIndex: number) => {
    const live = await requireTi(database, { dagId, runId, taskId, mapIndex });
    const all = await triesOf(database, live);
    const versions = await dagVersions(database, [live.dag_version_id]);
    return { task_instances: all.map((t) => tryResponse(t, live, versions)), total_entries: all.length };
  };
  ctx.route("get_task_instance_tries", async ({ params, query }) =>
    tries(params.dag_id, params.dag_run_id, params.task_id, query.map_index ?? -1),
  );
  ctx.route("get_mapped_task_instance_tries", async ({ params }) =>
    tries(params.dag_id, params.dag_run_id, params.task_id, params.map_index),
  );

  const tryDetails = async (dagId: string, runId: string, taskId: string, mapIndex: number, n: number) => {
    const live = await findTi(database, { dagId, runId, taskId, mapIndex });
    const found = live && (await triesOf(database, live)).find((t) => t.try_number === n);
    if (!live || !found)
      throw notFound(
        `The Task Instance with dag_id: \`${dagId}\`, run_id: \`${runId}\`, task_id: \`${taskId}\`, try_number: \`${n}\` and map_index: \`${mapIndex}\` was not found`,
      );
    return tryResponse(found, live, await dagVersions(database, [live.dag_version_id]));
  };
  ctx.route("get_task_instance_try_details", async ({ params, query }) =>
    tryDetails(
      params.dag_id,
      params.dag_run_id,
      params.task_id,
      query.map_index ?? -1,
      params.task_try_number,
    ),
  );
  ctx.route("get_mapped_task_instance_try_details", async ({ params }) =>
    tryDetails(params.dag_id, params.dag_run_id, params.task_id, params.map_index, params.task_try_number),
  );

  const deps = async (dagId: string, runId: string, taskId: string, mapIndex: number) => ({
    dependencies: await explainDependencies(
      database,
      await requireTi(database, { dagId, runId, taskId, mapIndex }),
    ),
  });
  ctx.route("get_task_instance_dependencies", async ({ params, query }) =>
    deps(params.dag_id, params.dag_run_id, params.task_id, query.map_index ?? -1),
  );
  ctx.route("get_task_instance_dependencies_by_map_index", async ({ params }) =>
    deps(params.dag_id, params.dag_run_id, params.task_id, params.map_index),
  );

  /** patch_task_instance and its map-index and dry-run variants. */
  const patch = async (
    request: ApiRequest<"patch_task_instance">,
    mapIndex: number | null,
    dryRun: boolean,
  ): Promise<Schemas["TaskInstanceCollectionResponse"]> => {
    const { params, body, query } = request;
    const result = await patchTaskInstances(ctx, {
      dagId: params.dag_id,
      runId: params.dag_run_id,
      taskId: params.task_id,
      mapIndex,
      body,
      updateMask: query.update_mask,
      dryRun,
    });
    if (dryRun) {
      const shown = result.fields.includes("new_state") ? result.affected : result.targets;
      return { task_instances: await tiResponses(database, shown), total_entries: shown.length };
    }
    await ctx.audit(request.raw, "patch_task_instance", {
      dagId: params.dag_id,
      runId: params.dag_run_id,
      taskId: params.task_id,
      mapIndex,
      extra: {
        ...(result.fields.includes("new_state") ? { new_state: body.new_state } : {}),
        ...(result.fields.includes("note") ? { note: body.note ?? null } : {}),
        changed: result.affected.map((t) => `${t.dag_id}.${t.run_id}.${t.task_id}[${t.map_index}]`),
      },
    });
    return {
      task_instances: await tiResponses(database, result.targets),
      total_entries: result.targets.length,
    };
  };
  ctx.route("patch_task_instance", async (r) => patch(r, r.query.map_index ?? null, false));
  ctx.route("patch_task_instance_by_map_index", async (r) =>
    patch(r as unknown as ApiRequest<"patch_task_instance">, r.params.map_index ?? null, false),
  );
  ctx.route("patch_task_instance_dry_run", async (r) =>
    patch(r as unknown as ApiRequest<"patch_task_instance">, r.query.map_index ?? null, true),
  );
  ctx.route("patch_task_instance_dry_run_by_map_index", async (r) =>
    patch(r as unknown as ApiRequest<"patch_task_instance">, r.params.map_index ?? null, true),
  );

  ctx.route(
    "delete_task_instance",
    async ({ params, query, raw }) => {
      const key = {
        dagId: params.dag_id,
        runId: params.dag_run_id,
        taskId: params.task_id,
        mapIndex: query.map_index ?? -1,
      };
      if (!(await taskInstanceStore(database).delete(key))) throw notFound(tiNotFound(key));
      await ctx.audit(raw, "delete_task_instance", {
        dagId: key.dagId,
        runId: key.runId,
        taskId: key.taskId,
        mapIndex: key.mapIndex,
      });
      return null;
    },
    { status: 200 },
  );

  ctx.route("bulk_task_instances", async ({ params, body, raw }) => {
    const out: Schemas["BulkResponse"] = {};
    const changed: string[] = [];
    for (const action of body.actions) {
      const results = { success: [] as string[], errors: [] as Record<string, unknown>[] };
      if (action.action === "create") {
        results.errors.push({ error: "Task instances bulk create is not supported", status_code: 405 });
        out.create = results;
        continue;
      }
      for (const entity of action.entities) {
        const e = typeof entity === "string" ? { task_id: entity } : entity;
        const dagId = ("dag_id" in e && e.dag_id) || params.dag_id;
        const runId = ("dag_run_id" in e && e.dag_run_id) || params.dag_run_id;
        const mapIndex = "map_index" in e && typeof e.map_index === "number" ? e.map_index : null;
        const label = (m: number) => `${dagId}.${runId}.${e.task_id}[${m}]`;
        if (dagId === "~" || runId === "~") {
          results.errors.push({
            error: `When using wildcard in path, dag_id and dag_run_id must be specified in request body for task_id: ${e.task_id}`,
            status_code: 400,
          });
          continue;
        }
        try {
          if (action.action === "update") {
            const b = e as Schemas["BulkTaskInstanceBody"];
            const patchBody: Schemas["PatchTaskInstanceBody"] = {
              include_upstream: b.include_upstream,
              include_downstream: b.include_downstream,
              include_future: b.include_future,
              include_past: b.include_past,
              ...("new_state" in b ? { new_state: b.new_state } : {}),
              ...("note" in b ? { note: b.note } : {}),
            };
            const r = await patchTaskInstances(ctx, {
              dagId,
              runId,
              taskId: e.task_id,
              mapIndex,
              body: patchBody,
              updateMask: action.update_mask,
              dryRun: false,
            });
            for (const t of r.targets) results.success.push(label(t.map_index));
          } else {
            const tis = taskInstanceStore(database);
            const rows = (await tiQuery(database)
              .where("ti.dag_id", "=", dagId)
              .where("ti.run_id", "=", runId)
              .where("ti.task_id", "=", e.task_id)
              .$if(mapIndex !== null, (q) => q.where("ti.map_index", "=", mapIndex!))
              .execute()) as TiRow[];
            if (rows.length === 0) {
              if (action.action_on_non_existence === "skip") continue;
              throw notFound(
                `No task instances found for dag_id: ${dagId}, run_id: ${runId}, task_id: ${e.task_id}`,
              );
            }
            for (const row of rows) {
              await tis.delete({ dagId, runId, taskId: e.task_id, mapIndex: row.map_index });
              results.success.push(label(row.map_index));
            }
          }
        } catch (error) {
          // An entity's refusal (HTTP or coded) is reported with it; anything else fails the request.
          if (!(error instanceof HttpError || error instanceof UpdraftError)) throw error;
          const { status } = errorResponse(error);
          if (status >= 500) throw error;
          if (status === 404 && action.action_on_non_existence === "skip") continue;
          results.errors.push({ error: error.message, status_code: status });
        }
      }
      changed.push(...results.success.map((s) => `${action.action} ${s}`));
      out[action.action] = results;
    }
    if (changed.length > 0)
      await ctx.audit(raw, "bulk_task_instances", {
        dagId: params.dag_id === "~" ? null : params.dag_id,
        runId: params.dag_run_id === "~" ? null : params.dag_run_id,
        extra: { changed },
      });
    return out;
  });

  ctx.route("post_clear_task_instances", async ({ params, body, raw }) => {
    const dagId = params.dag_id;
    await requireDag(database, dagId);
    const o: ClearOptions = { dagId, onlyFailed: body.only_failed ?? true };
    if (body.start_date) o.startDate = new Date(body.start_date).toISOString();
    if (body.end_date) o.endDate = new Date(body.end_date).toISOString();
    if (body.dag_run_id) {
      const run = await dagRunStore(database).get(dagId, body.dag_run_id);
      if (!run) throw notFound(`Dag Run id ${body.dag_run_id} not found in dag ${dagId}`);
      if ((body.include_past || body.include_future) && run.logical_date) {
        o.startDate = body.include_past ? undefined : run.logical_date;
        o.endDate = body.include_future ? undefined : run.logical_date;
      } else o.runId = body.dag_run_id;
    } else {
      if (body.include_past) o.startDate = undefined;
      if (body.include_future) o.endDate = undefined;
    }
    if (body.task_ids) {
      const ids = body.task_ids.map((t) => (typeof t === "string" ? t : String(t[0])));
      o.taskRegex = exactly(ids);
      // [task_id, map_index] entries clear single mapped instances (a plain id: all of them).
      const pairs = body.task_ids.filter((t) => typeof t !== "string" && t.length > 1);
      if (pairs.length > 0) {
        const mapIndexes = new Map<string, Set<number>>();
        for (const [taskId, mapIndex] of pairs as unknown as [string, number][]) {
          if (!Number.isInteger(mapIndex))
            throw badRequest(
              `task_ids: the map index of "${taskId}" must be a whole number, got ${JSON.stringify(mapIndex)}`,
            );
          mapIndexes.set(taskId, (mapIndexes.get(taskId) ?? new Set()).add(mapIndex));
        }
        o.mapIndexes = mapIndexes;
      }
      o.upstream = body.include_upstream ?? false;
      o.downstream = body.include_downstream ?? false;
    }
    if (body.only_running) o.onlyFailed = false;
    const candidates = await clearChecked(database, {
      ...o,
      onlyRunning: body.only_running ?? false,
      preventRunningTask: body.prevent_running_task ?? false,
      dryRun: body.dry_run ?? false,
    });
    if (!body.dry_run && candidates.length > 0) {
      await ctx.audit(raw, "post_clear_task_instances", {
        dagId,
        runId: body.dag_run_id ?? null,
        extra: {
          cleared: candidates.map((c) => `${c.runId}.${c.taskId}`),
          only_failed: body.only_failed,
          only_running: body.only_running,
        },
      });
    }
    // With the task instances of other DAGs cleared through ExternalTaskMarkers.
    const key = (dag: string, run: string, task: string, map: number) =>
      `${dag}\u0000${run}\u0000${task}\u0000${map}`;
    const wanted = new Set(candidates.map((c) => key(c.dagId, c.runId, c.taskId, c.mapIndex)));
    const rows =
      candidates.length === 0
        ? []
        : ((await tiQuery(database)
            .where("ti.dag_id", "in", [...new Set(candidates.map((c) => c.dagId))])
            .where("ti.run_id", "in", [...new Set(candidates.map((c) => c.runId))])
            .where("ti.task_id", "in", [...new Set(candidates.map((c) => c.taskId))])
            .orderBy("dr.run_after")
            .orderBy("ti.task_id")
            .orderBy("ti.map_index")
            .execute()) as TiRow[]);
    const tis = rows.filter((r) => wanted.has(key(r.dag_id, r.run_id, r.task_id, r.map_index)));
    return { task_instances: await tiResponses(database, tis), total_entries: tis.length };
  });

  ctx.route("get_extra_links", async ({ params, query }) => {
    const dag = await dagStore(database).getSerialized(params.dag_id);
    if (!dag) throw notFound(`DAG with ID = ${params.dag_id} not found`);
    if (!taskById(dag, params.task_id)) throw notFound(`Task with ID = ${params.task_id} not found`);
    const ti = await findTi(database, {
      dagId: params.dag_id,
      runId: params.dag_run_id,
      taskId: params.task_id,
      mapIndex: query.map_index ?? -1,
    });
    if (!ti) throw notFound(`DAG Run with ID = ${params.dag_run_id} not found`);
    const links = await extraLinks(database, taskById(dag, params.task_id)!.task, ti);
    return { extra_links: links, total_entries: Object.keys(links).length };
  });

  // Human-in-the-loop: Updraft has no HITL tasks, so there is never a detail to read or answer.
  const noHitl = (dagId: string, runId: string, taskId: string, mapIndex: number) =>
    notFound(
      `Human-in-the-loop detail does not exist for Task Instance with dag_id: \`${dagId}\`, run_id: \`${runId}\`, task_id: \`${taskId}\` and map_index: \`${mapIndex}\` (Updraft has no human-in-the-loop tasks)`,
    );
  ctx.route("get_hitl_details", async () => ({ hitl_details: [], total_entries: 0 }));
  ctx.route("get_hitl_detail", async ({ params }) => {
    throw noHitl(params.dag_id, params.dag_run_id, params.task_id, params.map_index);
  });
  ctx.route("get_hitl_detail_try_detail", async ({ params }) => {
    throw noHitl(params.dag_id, params.dag_run_id, params.task_id, params.map_index);
  });
  ctx.route("update_hitl_detail", async ({ params }) => {
    throw noHitl(params.dag_id, params.dag_run_id, params.task_id, params.map_index);
  });

  registerTaskLogRoutes(ctx);
  registerXComRoutes(ctx);
}
