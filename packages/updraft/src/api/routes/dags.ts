/**
 * DAGs, tasks, DAG source, stats, tags, import errors, versions, warnings, reparsing: Airflow's DAG,
 * Task, DagSource, DagStats, Import Error, DagVersion, DagWarning and DAG Parsing tags.
 *
 * What Updraft lacks answers as "nothing matches": bundles (bundle_name/bundle_version filters),
 * assets (has_asset_schedule=true, asset_dependency), timetable_type, and per-user favorites, which
 * Updraft does not store (favorite/unfavorite succeed and change nothing; is_favorite is false).
 */
import { readFile } from "node:fs/promises";
import { sql, type SelectQueryBuilder } from "kysely";
import { assetExpression } from "../../core/assets.ts";
import { downstreamOf, taskById, type SerializedDag, type SerializedTask } from "../../core/serialized.ts";
import { describeSummary } from "../../core/timetables/index.ts";
import { resolveFileloc } from "../../dag-processing/discover.ts";
import { NEVER } from "../../scheduler/create-runs.ts";
import { dagRunStore } from "../../storage/dag-runs.ts";
import { dagVersionStore } from "../../storage/dag-versions.ts";
import { dagStore } from "../../storage/dags.ts";
import type { DagRow } from "../../storage/schema.ts";
import type { ApiContext } from "../app.ts";
import {
  dagVersionView,
  fileToken,
  filelocOfToken,
  isoDuration,
  operatorColorOf,
  operatorNameOf,
  paramsView,
  templateFieldsOf,
  timeDelta,
} from "../dag-view.ts";
import { badRequest, conflict, HttpError, notFound } from "../errors.ts";
import type { components } from "../generated/airflow-v2.ts";
import { applyOrder, likeAny, paging, rangeOf } from "../paging.ts";

type Schemas = components["schemas"];
type DagView = Schemas["DAGResponse"];
type TaskView = Schemas["TaskResponse"];

const DAG_RUN_STATES = ["queued", "running", "success", "failed"] as const;

/**
 * Sorted by next run, DAGs with none (no next logical date, or never: an end date passed) come last
 * both ways, as Airflow's list puts nulls last: "next run" soonest or latest first, then the rest.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any selection of the dag table
function noNextRunLast<QB extends SelectQueryBuilder<any, any, any>>(
  qb: QB,
  orderBy: string[] | undefined,
): QB {
  const fields = (orderBy ?? []).flatMap((f) => f.split(",").map((x) => x.trim().replace(/^-/, "")));
  if (fields[0] !== "next_dagrun") return qb;
  return qb.orderBy(
    sql`case when dag.next_dagrun is null or dag.next_dagrun_create_after = ${NEVER} then 1 else 0 end`,
  ) as QB;
}

/** get_dags' sortable fields; "state"/"start_date" are the latest run's, as last_run_*. */
const DAG_ORDER: Record<string, string> = {
  dag_id: "dag.dag_id",
  dag_display_name: "dag.dag_id",
  next_dagrun: "dag.next_dagrun",
  state: "lr.state",
  start_date: "lr.start_date",
  last_run_state: "lr.state",
  last_run_start_date: "lr.start_date",
};

const dagNotFound = (dagId: string) => notFound(`The Dag with ID: \`${dagId}\` was not found`);

/** The filters get_dags and patch_dags share. */
interface DagFilter {
  tags?: string[];
  tags_match_mode?: "any" | "all" | null;
  owners?: string[];
  dag_id_pattern?: string | null;
  exclude_stale?: boolean;
  paused?: boolean | null;
}

export function registerDagRoutes(ctx: ApiContext): void {
  const { db } = ctx.database;

  /** DAGs scheduled on, or with a task updating, an asset whose name or URI contains `pattern`. */
  function dagsDependingOn(pattern: string) {
    const text = `%${pattern.toLowerCase()}%`;
    const matching = db
      .selectFrom("asset")
      .select("id")
      .where((eb) =>
        eb.or([eb(eb.fn("lower", ["uri"]), "like", text), eb(eb.fn("lower", ["name"]), "like", text)]),
      );
    return db
      .selectFrom("dag_schedule_asset_reference")
      .select("dag_id")
      .where("asset_id", "in", matching)
      .union(db.selectFrom("task_outlet_asset_reference").select("dag_id").where("asset_id", "in", matching));
  }
  const store = dagStore(ctx.database);
  const dagsFolder = ctx.config.values.core.dags_folder;

  /** `dag` with its file's row and its latest started run (`lr`), as Airflow's DAG list joins them. */
  function dagQuery() {
    // Per DAG, walk its runs newest first on the (dag_id, id) index and stop at the first started
    // one: a few rows per DAG, where grouping every run of the installation costs all of them.
    return db
      .selectFrom("dag")
      .leftJoin("dag_file", "dag_file.fileloc", "dag.fileloc")
      .leftJoin("dag_run as lr", (join) =>
        join.on(
          "lr.id",
          "=",
          sql<number>`(select r.id from dag_run r where r.dag_id = dag.dag_id and r.start_date is not null order by r.id desc limit 1)`,
        ),
      );
  }
  type DagQuery = ReturnType<typeof dagQuery>;
  const nothing = (qb: DagQuery) => qb.where(sql<boolean>`1 = 0`);

  function commonFilters(qb: DagQuery, q: DagFilter): DagQuery {
    let out = qb;
    if (q.exclude_stale !== false) out = out.where("dag.is_active", "=", 1);
    if (q.paused !== undefined && q.paused !== null) out = out.where("dag.is_paused", "=", q.paused ? 1 : 0);
    if (q.dag_id_pattern && q.dag_id_pattern !== "~")
      out = out.where(likeAny("dag.dag_id", q.dag_id_pattern));
    const tags = (q.tags ?? []).filter((t) => t !== "");
    if (tags.length > 0) {
      const tagged = (names: string[]) =>
        db.selectFrom("dag_tag").select("dag_tag.dag_id").where("dag_tag.name", "in", names);
      if (q.tags_match_mode === "all")
        for (const tag of tags) out = out.where("dag.dag_id", "in", tagged([tag]));
      else out = out.where("dag.dag_id", "in", tagged(tags));
    }
    const owners = (q.owners ?? []).filter((o) => o !== "");
    if (owners.length > 0)
      out = out.where((eb) =>
        eb.or(
          owners.map((o) => sql<boolean>`lower(${sql.ref("dag.owners")}) like ${`%${o.toLowerCase()}%`}`),
        ),
      );
    return out;
  }

  async function count(qb: DagQuery): Promise<number> {
    const row = await qb.select((eb) => eb.fn.countAll().as("n")).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async function tagsOf(dagIds: string[]): Promise<Map<string, string[]>> {
    if (dagIds.length === 0) return new Map();
    const rows = await db
      .selectFrom("dag_tag")
      .select(["dag_id", "name"])
      .where("dag_id", "in", dagIds)
      .orderBy("name")
      .execute();
    const out = new Map<string, string[]>();
    for (const r of rows) out.set(r.dag_id, [...(out.get(r.dag_id) ?? []), r.name]);
    return out;
  }

  async function page(qb: DagQuery, orderBy: string[] | undefined, limit: number, offset: number) {
    const rows = await applyOrder(
      noNextRunLast(qb.selectAll("dag").select("dag_file.parse_duration_ms"), orderBy),
      orderBy,
      DAG_ORDER,
      "dag_id",
      ["dag.dag_id"],
      ctx.database,
    )
      .limit(limit)
      .offset(offset)
      .execute();
    const tags = await tagsOf(rows.map((r) => r.dag_id));
    return rows.map((r) => dagView(r, tags.get(r.dag_id) ?? []));
  }

  async function viewOf(dagId: string): Promise<DagView> {
    const row = await dagQuery()
      .selectAll("dag")
      .select("dag_file.parse_duration_ms")
      .where("dag.dag_id", "=", dagId)
      .executeTakeFirst();
    if (!row) throw dagNotFound(dagId);
    return dagView(row, (await tagsOf([dagId])).get(dagId) ?? []);
  }

  function dagView(row: DagRow & { parse_duration_ms: number | null }, tags: string[]): DagView {
    return {
      dag_id: row.dag_id,
      dag_display_name: row.dag_id,
      is_paused: Number(row.is_paused) === 1,
      is_stale: Number(row.is_active) !== 1,
      last_parsed_time: row.last_parsed_time,
      last_parse_duration: row.parse_duration_ms === null ? null : Number(row.parse_duration_ms) / 1000,
      last_expired: null,
      bundle_name: null,
      bundle_version: null,
      relative_fileloc: row.fileloc,
      fileloc: resolveFileloc(row.fileloc, dagsFolder),
      description: row.description,
      timetable_summary: row.schedule_description,
      timetable_description: timetableDescription(row),
      timetable_partitioned: false,
      tags: tags.map((name) => ({ name, dag_id: row.dag_id, dag_display_name: row.dag_id })),
      max_active_tasks: Number(row.max_active_tasks),
      max_active_runs: Number(row.max_active_runs),
      max_consecutive_failed_dag_runs: Number(row.max_consecutive_failed_dag_runs),
      has_task_concurrency_limits: false,
      has_import_errors: Number(row.has_import_errors) === 1,
      next_dagrun_logical_date: row.next_dagrun,
      next_dagrun_data_interval_start: row.next_dagrun_data_interval_start,
      next_dagrun_data_interval_end: row.next_dagrun_data_interval_end,
      next_dagrun_run_after: row.next_dagrun_create_after === NEVER ? null : row.next_dagrun_create_after,
      allowed_run_types: null,
      owners: row.owners
        .split(",")
        .map((o) => o.trim())
        .filter(Boolean),
      file_token: fileToken(row.fileloc),
    };
  }

  async function serializedOf(dagId: string): Promise<SerializedDag> {
    const dag = await store.getSerialized(dagId);
    if (!dag) throw dagNotFound(dagId);
    return dag;
  }

  const versions = dagVersionStore(ctx.database);
  const versionRow = async (dagId: string) => (await versions.latest([dagId])).get(dagId);

  // ---- DAG -------------------------------------------------------------------------------------

  ctx.route("get_dags", async ({ query }) => {
    const { limit, offset } = paging(query);
    let qb = commonFilters(dagQuery(), query);
    if (query.has_import_errors !== undefined && query.has_import_errors !== null)
      qb = qb.where("dag.has_import_errors", "=", query.has_import_errors ? 1 : 0);
    if (query.dag_display_name_pattern && query.dag_display_name_pattern !== "~")
      qb = qb.where(likeAny("dag.dag_id", query.dag_display_name_pattern));
    if (query.last_dag_run_state) qb = qb.where("lr.state", "=", query.last_dag_run_state);
    const runStates = (query.dag_run_state ?? []).filter((s) => s !== "");
    if (runStates.length > 0) qb = qb.where("lr.state", "in", runStates);
    for (const [op, value] of rangeOf(query, "dag_run_start_date")) qb = qb.where("lr.start_date", op, value);
    for (const [op, value] of rangeOf(query, "dag_run_end_date")) qb = qb.where("lr.end_date", op, value);
    // An asset schedule's summary is "Asset" (core/schedule.ts describeSchedule), never a cron's.
    if (query.has_asset_schedule === true) qb = qb.where("dag.schedule_description", "=", "Asset");
    if (query.has_asset_schedule === false) qb = qb.where("dag.schedule_description", "!=", "Asset");
    if (query.asset_dependency) qb = qb.where("dag.dag_id", "in", dagsDependingOn(query.asset_dependency));
    // Updraft has no bundles, favorites or timetable classes: asking for them matches nothing.
    if (
      query.bundle_name ||
      query.bundle_version ||
      query.is_favorite === true ||
      (query.timetable_type ?? []).some((t) => t !== "")
    )
      qb = nothing(qb);
    const total = await count(qb);
    return { dags: await page(qb, query.order_by, limit, offset), total_entries: total };
  });

  ctx.route("patch_dags", async ({ query, body, raw }) => {
    checkUpdateMask(query.update_mask);
    const { limit, offset } = paging(query);
    // As in Airflow: without dag_id_pattern nothing matches, so a bare PATCH cannot pause every DAG.
    // "~" (or "%") matches all.
    let qb = commonFilters(dagQuery(), query);
    if (!query.dag_id_pattern) qb = nothing(qb);
    const ids = (await qb.select("dag.dag_id").orderBy("dag.dag_id").execute()).map((r) => r.dag_id);
    await store.setPaused(ids, Boolean(body.is_paused));
    for (const dagId of ids)
      await ctx.audit(raw, "patch_dags", { dagId, extra: { is_paused: body.is_paused } });
    return { dags: await page(qb, ["dag_id"], limit, offset), total_entries: ids.length };
  });

  ctx.route("get_dag", async ({ params }) => viewOf(params.dag_id));

  ctx.route("patch_dag", async ({ params, query, body, raw }) => {
    checkUpdateMask(query.update_mask);
    if (!(await store.get(params.dag_id))) throw notFound(`Dag with id: ${params.dag_id} was not found`);
    await store.setPaused(params.dag_id, body.is_paused);
    await ctx.audit(raw, "patch_dag", { dagId: params.dag_id, extra: { is_paused: body.is_paused } });
    return viewOf(params.dag_id);
  });

  ctx.route(
    "delete_dag",
    async ({ params, raw }) => {
      const outcome = await store.deleteDag(params.dag_id);
      if (outcome === "not_found") throw notFound(`Dag with id: ${params.dag_id} was not found`);
      if (outcome === "running")
        throw conflict(
          `Task instances of dag with id: '${params.dag_id}' are still running: wait for them to finish or mark them failed, then delete the DAG`,
        );
      await ctx.audit(raw, "delete_dag", { dagId: params.dag_id });
      return null;
    },
    { status: 200 },
  );

  ctx.route("get_dag_details", async ({ params }) => {
    const view = await viewOf(params.dag_id);
    const dag = await serializedOf(params.dag_id);
    const version = await versionRow(params.dag_id);
    const activeRuns = await dagRunStore(ctx.database).countActive(params.dag_id);
    return {
      ...view,
      catchup: dag.catchup,
      dag_run_timeout: dag.dagrunTimeout === null ? null : isoDuration(dag.dagrunTimeout),
      asset_expression: dag.schedule?.kind === "assets" ? assetExpression(dag.schedule.condition) : null,
      doc_md: dag.docMd,
      start_date: dag.startDate,
      end_date: dag.endDate,
      is_paused_upon_creation: dag.isPausedUponCreation,
      params: paramsView(dag.params),
      render_template_as_native_obj: false,
      template_search_path: null,
      timezone: dag.timezone,
      last_parsed: view.last_parsed_time,
      default_args: null,
      owner_links: null,
      is_favorite: false,
      active_runs_count: activeRuns,
      concurrency: view.max_active_tasks,
      latest_dag_version: version ? dagVersionView(version) : null,
    };
  });

  // Favorites are not stored (no table for them): both answer 204 for a known DAG and change nothing.
  ctx.route("favorite_dag", async ({ params }) => {
    if (!(await store.get(params.dag_id))) throw notFound(`Dag with id '${params.dag_id}' not found`);
    return null;
  });

  ctx.route("unfavorite_dag", async ({ params }) => {
    if (!(await store.get(params.dag_id))) throw notFound(`Dag with id '${params.dag_id}' not found`);
    return null;
  });

  ctx.route("get_dag_tags", async ({ query }) => {
    const { limit, offset } = paging(query);
    let qb = db.selectFrom("dag_tag");
    if (query.tag_name_pattern && query.tag_name_pattern !== "~")
      qb = qb.where(likeAny("dag_tag.name", query.tag_name_pattern));
    const total = await qb
      .select((eb) => eb.fn.count("dag_tag.name").distinct().as("n"))
      .executeTakeFirstOrThrow();
    const rows = await applyOrder(
      qb.select("dag_tag.name").distinct(),
      query.order_by,
      { name: "dag_tag.name" },
      "name",
    )
      .limit(limit)
      .offset(offset)
      .execute();
    return { tags: rows.map((r) => r.name), total_entries: Number(total.n) };
  });

  // ---- Tasks -----------------------------------------------------------------------------------

  function taskView(dag: SerializedDag, task: SerializedTask): TaskView {
    const operator = operatorNameOf(task.kind);
    return {
      task_id: task.taskId,
      task_display_name: task.taskId,
      owner: task.owner,
      start_date: dag.startDate,
      end_date: dag.endDate,
      trigger_rule: task.triggerRule,
      depends_on_past: task.dependsOnPast,
      wait_for_downstream: task.waitForDownstream,
      retries: task.retries,
      queue: task.queue,
      pool: task.pool,
      pool_slots: task.poolSlots,
      execution_timeout: task.executionTimeout === null ? null : timeDelta(task.executionTimeout),
      retry_delay: timeDelta(task.retryDelay),
      retry_exponential_backoff: task.retryExponentialBackoff ? 2 : 0,
      priority_weight: task.priorityWeight,
      weight_rule: task.weightRule,
      ui_color: operatorColorOf(task.kind),
      ui_fgcolor: "#000",
      template_fields: templateFieldsOf(task.kind),
      downstream_task_ids: [...(downstreamOf(dag).get(task.taskId) ?? [])].sort(),
      doc_md: task.docMd,
      operator_name: operator,
      params: paramsView(dag.params),
      class_ref: { module_path: "updraft", class_name: operator },
      is_mapped: false,
      extra_links: [],
    };
  }

  ctx.route("get_tasks", async ({ params, query }) => {
    const dag = await serializedOf(params.dag_id);
    const tasks = dag.tasks.map((t) => taskView(dag, t));
    const orderBy = query.order_by || "task_id";
    const desc = orderBy.startsWith("-");
    const field = (desc ? orderBy.slice(1) : orderBy) as keyof TaskView;
    const sortable = tasks.every(
      (t) => t[field] === null || ["string", "number", "boolean"].includes(typeof t[field]),
    );
    if (!(field in (tasks[0] ?? { task_id: null })) || !sortable)
      throw badRequest(
        `Ordering with '${orderBy}' is disallowed or the attribute does not exist on the model`,
      );
    const key = (t: TaskView) => t[field] as string | number | boolean | null;
    tasks.sort((a, b) => {
      const [x, y] = [key(a), key(b)];
      const c = x === y ? 0 : x === null ? 1 : y === null ? -1 : x < y ? -1 : 1;
      return (desc ? -c : c) || (a.task_id! < b.task_id! ? -1 : 1);
    });
    return { tasks, total_entries: tasks.length };
  });

  ctx.route("get_task", async ({ params }) => {
    const dag = await serializedOf(params.dag_id);
    const found = taskById(dag, String(params.task_id));
    if (!found) throw notFound(`Task with id ${String(params.task_id)} was not found`);
    return taskView(dag, found.task);
  });

  // ---- Source, stats -----------------------------------------------------------------------------

  ctx.route("get_dag_source", async ({ params, query, raw, reply }) => {
    const accept = String(raw.headers.accept ?? "*/*");
    const wantsText = !accept.includes("*/*") && !accept.includes("application/json");
    if (wantsText && !accept.includes("text/plain"))
      throw new HttpError(406, "Only application/json or text/plain is supported");
    const newest = await versionRow(params.dag_id);
    const number = query.version_number ?? newest?.version_number;
    const version = number === undefined ? undefined : await versions.source(params.dag_id, number);
    if (!newest || !version)
      throw notFound(
        `The source code of the DAG ${params.dag_id}, version_number ${query.version_number ?? "None"} was not found`,
      );
    // A version 1 the upgrade made has no recorded text until its file is parsed again: the newest
    // reads the file (gone from the DAGs folder, it is null); an older one has none to show.
    const content =
      version.source_code ??
      (version.version_number === newest.version_number
        ? await readFile(resolveFileloc(version.fileloc, dagsFolder), "utf8").catch(() => null)
        : null);
    if (wantsText) {
      void reply.type("text/plain; charset=utf-8");
      return (content ?? "") as never;
    }
    return {
      content,
      dag_id: params.dag_id,
      version_number: version.version_number,
      dag_display_name: params.dag_id,
    };
  });

  ctx.route("get_dag_stats", async ({ query }) => {
    let qb = db
      .selectFrom("dag_run")
      .innerJoin("dag", "dag.dag_id", "dag_run.dag_id")
      .select(["dag_run.dag_id", "dag_run.state", (eb) => eb.fn.countAll().as("n")])
      .groupBy(["dag_run.dag_id", "dag_run.state"])
      .orderBy("dag_run.dag_id");
    const dagIds = (query.dag_ids ?? []).filter((d) => d !== "");
    if (dagIds.length > 0) qb = qb.where("dag_run.dag_id", "in", dagIds);
    const byDag = new Map<string, Map<string, number>>();
    for (const r of await qb.execute()) {
      if (!byDag.has(r.dag_id)) byDag.set(r.dag_id, new Map());
      byDag.get(r.dag_id)!.set(r.state, Number(r.n));
    }
    const dags = [...byDag].map(([dagId, counts]) => ({
      dag_id: dagId,
      dag_display_name: dagId,
      stats: DAG_RUN_STATES.map((state) => ({ state, count: counts.get(state) ?? 0 })),
    }));
    return { dags, total_entries: dags.length };
  });

  // ---- Import errors -----------------------------------------------------------------------------

  const importErrorView = (r: {
    id: number;
    fileloc: string;
    message: string;
    stacktrace: string | null;
    timestamp: string;
  }) => ({
    import_error_id: Number(r.id),
    timestamp: r.timestamp,
    filename: r.fileloc,
    bundle_name: null,
    stack_trace:
      r.stacktrace && !r.stacktrace.includes(r.message)
        ? `${r.message}\n${r.stacktrace}`
        : (r.stacktrace ?? r.message),
  });

  ctx.route("get_import_errors", async ({ query }) => {
    const { limit, offset } = paging(query);
    let qb = db.selectFrom("import_error");
    if (query.filename_pattern && query.filename_pattern !== "~")
      qb = qb.where(likeAny("import_error.fileloc", query.filename_pattern));
    const total = await qb.select((eb) => eb.fn.countAll().as("n")).executeTakeFirstOrThrow();
    const rows = await applyOrder(
      qb.selectAll(),
      query.order_by,
      {
        id: "id",
        import_error_id: "id",
        timestamp: "timestamp",
        filename: "fileloc",
        bundle_name: "id",
        stacktrace: "stacktrace",
      },
      "id",
      ["id"],
    )
      .limit(limit)
      .offset(offset)
      .execute();
    return { import_errors: rows.map(importErrorView), total_entries: Number(total.n) };
  });

  ctx.route("get_import_error", async ({ params }) => {
    const row = await db
      .selectFrom("import_error")
      .selectAll()
      .where("id", "=", params.import_error_id)
      .executeTakeFirst();
    if (!row)
      throw notFound(`The ImportError with import_error_id: \`${params.import_error_id}\` was not found`);
    return importErrorView(row);
  });

  // ---- Versions, warnings, parsing ---------------------------------------------------------------

  ctx.route("get_dag_versions", async ({ params, query }) => {
    const { limit, offset } = paging(query);
    let qb = db.selectFrom("dag_version");
    if (params.dag_id !== "~") {
      if (!(await store.get(params.dag_id)))
        throw notFound(`The DAG with dag_id: \`${params.dag_id}\` was not found`);
      qb = qb.where("dag_version.dag_id", "=", params.dag_id);
    }
    if (query.version_number !== undefined && query.version_number !== null)
      qb = qb.where("version_number", "=", query.version_number);
    // Updraft has no bundles (every bundle field is null): a bundle filter matches nothing.
    if (query.bundle_name || query.bundle_version) qb = qb.where(sql<boolean>`1 = 0`);
    const total = await qb.select((eb) => eb.fn.countAll().as("n")).executeTakeFirstOrThrow();
    const rows = await applyOrder(
      qb.select(["id", "dag_id", "version_number", "created_at"]),
      query.order_by,
      // Airflow's ids are UUID v7, so its default order "id" is the order of creation: created_at here.
      {
        id: "created_at",
        version_number: "version_number",
        dag_id: "dag_id",
        created_at: "created_at",
        bundle_name: "version_number",
        bundle_version: "version_number",
        bundle_url: "version_number",
      },
      "id",
      ["dag_id", "version_number"],
    )
      .limit(limit)
      .offset(offset)
      .execute();
    return { dag_versions: rows.map(dagVersionView), total_entries: Number(total.n) };
  });

  ctx.route("get_dag_version", async ({ params }) => {
    const row = await versions.get(params.dag_id, params.version_number);
    if (!row)
      throw notFound(
        `The DagVersion with dag_id: \`${params.dag_id}\` and version_number: \`${params.version_number}\` was not found`,
      );
    return dagVersionView(row);
  });

  // Updraft raises no DAG warnings (pool and config problems are import errors or task failures).
  ctx.route("list_dag_warnings", async ({ query }) => {
    const allowed = ["dag_id", "warning_type", "message", "timestamp"];
    for (const field of (query.order_by ?? [])
      .flatMap((f) => f.split(","))
      .map((f) => f.trim().replace(/^-/, "")))
      if (field && !allowed.includes(field))
        throw badRequest(
          `Ordering with '${field}' is disallowed or the attribute does not exist on the model (allowed: ${allowed.join(", ")})`,
        );
    return { dag_warnings: [], total_entries: 0 };
  });

  ctx.route(
    "reparse_dag_file",
    async ({ params, raw }) => {
      const fileloc = filelocOfToken(params.file_token);
      if (fileloc === null || !(await store.requestReparse(fileloc)))
        throw notFound(
          `No DAG file is known for file token "${params.file_token}": use the file_token of a DAG (GET /api/v2/dags/{dag_id})`,
        );
      await ctx.audit(raw, "reparse_dag_file", { extra: { fileloc } });
      return null;
    },
    { status: 201 },
  );
}

function checkUpdateMask(mask: string[] | null | undefined): void {
  const fields = (mask ?? [])
    .flatMap((f) => f.split(","))
    .map((f) => f.trim())
    .filter(Boolean);
  if (fields.length > 0 && (fields.length !== 1 || fields[0] !== "is_paused"))
    throw badRequest("Only `is_paused` field can be updated through the REST API");
}

/** Airflow's timetable_description: a human summary of the schedule ("At 02:30, UTC"). */
function timetableDescription(row: Pick<DagRow, "schedule_description" | "timezone">): string {
  return describeSummary(row.schedule_description, row.timezone);
}
