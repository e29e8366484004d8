/** DAG runs (list, batch list, get, trigger, patch, delete, clear, wait) and backfills. */
import { setTimeout as sleep } from "node:timers/promises";
import { sql, type SelectQueryBuilder } from "kysely";
import { isRunFinished } from "../../core/states.ts";
import { clearTaskInstances } from "../../operations/clear.ts";
import { markRun } from "../../operations/mark-run.ts";
import { triggerDagRun } from "../../operations/trigger-run.ts";
import { dagRunStore } from "../../storage/dag-runs.ts";
import { dagStore } from "../../storage/dags.ts";
import type { DagRunRow, Tables } from "../../storage/schema.ts";
import { RETURN_VALUE } from "../../storage/xcom.ts";
import type { ApiContext } from "../app.ts";
import { upstreamAssetEvents } from "../../operations/assets.ts";
import { badRequest, conflict, HttpError, notFound } from "../errors.ts";
import { applyOrder, countTotal, likeAny, pageFromEnd, paging, rangeOf } from "../paging.ts";
import { registerBackfillRoutes } from "./backfills.ts";
import { dagRunResponse, dagRunResponses, dagVersions, versionOf } from "./dag-run-shapes.ts";
import { tiQuery, tiResponses, type TiRow } from "./task-instance-view.ts";

/** Sortable fields of the list endpoints (API name -> column); `duration` is computed. */
const ORDER_FIELDS: Record<string, string> = {
  id: "id",
  state: "state",
  dag_id: "dag_id",
  run_id: "run_id",
  dag_run_id: "run_id",
  logical_date: "logical_date",
  run_after: "run_after",
  start_date: "start_date",
  end_date: "end_date",
  updated_at: "updated_at",
  conf: "conf",
};
const RANGED = ["run_after", "logical_date", "start_date", "end_date", "updated_at"] as const;

type Op = ">=" | ">" | "<=" | "<";

/** What a list of runs is filtered by, whichever endpoint asks. */
interface RunFilter {
  dagId?: string;
  dagIds?: string[] | null;
  states?: string[] | null;
  runTypes?: string[] | null;
  ranges: [column: string, op: Op, value: string][];
  durations: [Op, number][];
  confContains?: string | null;
  runIdPattern?: string | null;
  dagIdPattern?: string | null;
  /** Runs created with one of these version numbers of their DAG. */
  versionNumbers?: number[];
  /** Filters on values Updraft does not record (all null): a non-empty one matches no run. */
  unmatchable: boolean;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the selection varies (rows, count)
type RunQuery = SelectQueryBuilder<Tables, "dag_run", any>;

function applyFilter(q: RunQuery, f: RunFilter): RunQuery {
  if (f.dagId) q = q.where("dag_id", "=", f.dagId);
  if (f.dagIds) q = f.dagIds.length ? q.where("dag_id", "in", f.dagIds) : q.where(sql<boolean>`1 = 0`);
  const states = (f.states ?? []).filter((s): s is string => typeof s === "string");
  if (states.length) q = q.where("state", "in", states);
  if (f.runTypes?.length) q = q.where("run_type", "in", f.runTypes);
  for (const [column, op, value] of f.ranges) q = q.where(sql.ref(column), op, value);
  if (f.confContains) q = q.where(sql<boolean>`${sql.ref("conf")} like ${`%${f.confContains}%`}`);
  if (hasPattern(f.runIdPattern)) q = q.where(likeAny("run_id", f.runIdPattern));
  if (hasPattern(f.dagIdPattern)) q = q.where(likeAny("dag_id", f.dagIdPattern));
  if (f.versionNumbers?.length) {
    const numbers = f.versionNumbers;
    q = q.where((eb) =>
      eb(
        "created_dag_version_id",
        "in",
        eb
          .selectFrom("dag_version")
          .select("dag_version.id")
          .whereRef("dag_version.dag_id", "=", "dag_run.dag_id")
          .where("dag_version.version_number", "in", numbers),
      ),
    );
  }
  if (f.unmatchable) q = q.where(sql<boolean>`1 = 0`);
  return q;
}

const hasPattern = (p: string | null | undefined) => (p ?? "").split("|").some((x) => x !== "");

function rangesOf(source: Record<string, unknown>): RunFilter["ranges"] {
  return RANGED.flatMap((column) =>
    rangeOf(source, column).map(([op, v]): RunFilter["ranges"][number] => [column, op, v]),
  );
}

function durationsOf(source: Record<string, unknown>): [Op, number][] {
  const out: [Op, number][] = [];
  for (const [suffix, op] of [
    ["gte", ">="],
    ["gt", ">"],
    ["lte", "<="],
    ["lt", "<"],
  ] as const) {
    const value = source[`duration_${suffix}`];
    if (typeof value === "number") out.push([op, value]);
  }
  return out;
}

function orderFields(orderBy: string[] | string | null | undefined): string[] {
  const list = Array.isArray(orderBy) ? orderBy : orderBy ? [orderBy] : [];
  return list.flatMap((f) =>
    f
      .split(",")
      .map((x) => x.trim())
      .filter(Boolean),
  );
}

/**
 * One page of runs and the total before paging, both in SQL. A run's duration is stored with its end
 * (storage/dag-runs.ts), so sorting and filtering by it use an index.
 */
async function listRuns(
  ctx: ApiContext,
  filter: RunFilter,
  orderBy: string[] | string | null | undefined,
  page: { limit: number; offset: number },
  allowDuration: boolean,
): Promise<{ rows: DagRunRow[]; total: number }> {
  const { db } = ctx.database;
  const filtered = (q: RunQuery) => {
    let out = applyFilter(q, filter);
    for (const [op, bound] of filter.durations) out = out.where("duration", op, bound);
    return out;
  };
  const total = await countTotal(db, filtered(db.selectFrom("dag_run")));
  const fields = orderFields(orderBy);
  const allowed = allowDuration ? { ...ORDER_FIELDS, duration: "duration" } : ORDER_FIELDS;
  const at = pageFromEnd(page, total);
  if (at.limit === 0) return { rows: [], total };
  const q = applyOrder(
    filtered(db.selectFrom("dag_run").selectAll()),
    fields.length ? fields : undefined,
    allowed,
    "id",
    ["id"],
    ctx.database,
    at.reversed,
  );
  const rows = (await q.limit(at.limit).offset(at.offset).execute()) as DagRunRow[];
  return { rows: at.reversed ? rows.reverse() : rows, total };
}

export function registerDagRunRoutes(ctx: ApiContext): void {
  const database = ctx.database;
  const runs = dagRunStore(database);

  async function runOr404(dagId: string, runId: string): Promise<DagRunRow> {
    const run = await runs.get(dagId, runId);
    if (!run) throw notFound(`The DagRun with dag_id: \`${dagId}\` and run_id: \`${runId}\` was not found`);
    return run;
  }

  async function respond(run: DagRunRow) {
    const versions = await dagVersions(database, [run.created_dag_version_id]);
    return dagRunResponse(run, versionOf(versions, run.created_dag_version_id));
  }

  ctx.route("get_dag_runs", async ({ params, query }) => {
    const all = params.dag_id === "~";
    if (!all && !(await dagStore(database).get(params.dag_id)))
      throw notFound(`The Dag with ID: \`${params.dag_id}\` was not found`);
    const q = query as Record<string, unknown>;
    const versions = query.dag_version ?? [];
    const filter: RunFilter = {
      dagId: all ? undefined : params.dag_id,
      states: query.state,
      runTypes: query.run_type,
      ranges: rangesOf(q),
      durations: durationsOf(q),
      confContains: query.conf_contains,
      runIdPattern: query.run_id_pattern,
      dagIdPattern: query.dag_id_pattern,
      versionNumbers: versions,
      // Updraft records no triggering user, bundle version or partition key.
      unmatchable:
        hasPattern(query.triggering_user_name_pattern) ||
        hasPattern(query.partition_key_pattern) ||
        (query.bundle_version !== undefined && query.bundle_version !== null),
    };
    const { rows, total } = await listRuns(ctx, filter, query.order_by, paging(query), true);
    return { dag_runs: await dagRunResponses(database, rows), total_entries: total };
  });

  ctx.route("get_list_dag_runs_batch", async ({ body }) => {
    const b = body as Record<string, unknown>;
    const filter: RunFilter = {
      dagIds: body.dag_ids,
      states: body.states as string[] | null | undefined,
      ranges: rangesOf(b),
      durations: durationsOf(b),
      confContains: body.conf_contains,
      unmatchable: false,
    };
    const page = paging({ limit: body.page_limit ?? 100, offset: body.page_offset ?? 0 });
    const { rows, total } = await listRuns(ctx, filter, body.order_by, page, false);
    return { dag_runs: await dagRunResponses(database, rows), total_entries: total };
  });

  ctx.route("get_dag_run", async ({ params }) => respond(await runOr404(params.dag_id, params.dag_run_id)));

  ctx.route("trigger_dag_run", async ({ params, body, raw }) => {
    const dagId = String(params.dag_id);
    const dag = await dagStore(database).get(dagId);
    if (!dag || !dag.is_active) throw notFound(`DAG with dag_id: '${dagId}' not found`);
    if (dag.has_import_errors)
      throw badRequest(`DAG with dag_id: '${dagId}' has import errors and cannot be triggered`);
    // Request validation turns a null string into "": absent, null and "" all mean none.
    if (!body.data_interval_start !== !body.data_interval_end)
      throw new HttpError(422, [
        {
          type: "value_error",
          loc: ["body"],
          msg: "Value error, Either both data_interval_start and data_interval_end must be provided or both must be None",
          input: null,
        },
      ]);
    if (body.data_interval_start)
      throw badRequest(
        "Updraft infers a manual run's data interval from the DAG's timetable and the logical date: leave data_interval_start and data_interval_end out",
      );
    if (body.partition_key !== undefined && body.partition_key !== null)
      throw badRequest("Updraft has no partitioned DAGs: leave partition_key out");
    // Without a logical date Airflow 3 makes a run with none; Updraft's runs always have one: run_after or now.
    const when = body.logical_date || body.run_after || null;
    const logicalDate = when === null ? undefined : new Date(when);
    if (logicalDate && Number.isNaN(logicalDate.getTime()))
      throw badRequest(`logical_date must be a date-time, got "${when}"`);
    const runId = body.dag_run_id || undefined;
    if (runId && (await runs.get(dagId, runId)))
      throw conflict(`The DagRun with dag_id: \`${dagId}\` and run_id: \`${runId}\` already exists`);
    const run = await triggerDagRun(database, {
      dagId,
      conf: body.conf ?? {},
      runId,
      allowedRunIdPattern: ctx.config.values.scheduler.allowed_run_id_pattern,
      logicalDate,
      runType: "manual",
      triggeredBy: "rest_api",
      note: body.note || undefined,
      now: ctx.now(),
    });
    await ctx.audit(raw, "trigger_dag_run", {
      dagId,
      runId: run.run_id,
      extra: { logical_date: run.logical_date },
    });
    return respond(run);
  });

  ctx.route("patch_dag_run", async ({ params, query, body, raw }) => {
    const run = await runOr404(params.dag_id, params.dag_run_id);
    const mask = query.update_mask ?? null;
    const fields = Object.keys(body).filter((f) => !mask || mask.includes(f));
    const now = ctx.now();
    if (fields.includes("state") && body.state) await markRun(database, run, body.state, now);
    // An empty note removes it (Airflow); a null one arrives as "" after request validation.
    if (fields.includes("note")) await runs.setNote(run.id, body.note || null, now);
    await ctx.audit(raw, "patch_dag_run", {
      dagId: run.dag_id,
      runId: run.run_id,
      extra: Object.fromEntries(fields.map((f) => [f, body[f as keyof typeof body]])),
    });
    return respond(await runOr404(params.dag_id, params.dag_run_id));
  });

  ctx.route("delete_dag_run", async ({ params, raw }) => {
    await runOr404(params.dag_id, params.dag_run_id);
    await runs.delete(params.dag_id, params.dag_run_id);
    await ctx.audit(raw, "delete_dag_run", { dagId: params.dag_id, runId: params.dag_run_id });
  });

  ctx.route("clear_dag_run", async ({ params, body, raw }) => {
    const run = await runOr404(params.dag_id, params.dag_run_id);
    const dryRun = body.dry_run !== false;
    const onlyFailed = body.only_failed === true;
    const cleared = await clearTaskInstances(database, {
      dagId: run.dag_id,
      runId: run.run_id,
      onlyFailed,
      dryRun,
    });
    if (dryRun) {
      const chosen = new Set(cleared.map((c) => c.taskId));
      const rows = (await tiQuery(database)
        .where("ti.dag_run_id", "=", run.id)
        .orderBy("ti.task_id")
        .orderBy("ti.map_index")
        .execute()) as TiRow[];
      const tis = rows.filter((ti) => chosen.has(ti.task_id));
      return { task_instances: await tiResponses(database, tis), total_entries: tis.length };
    }
    await ctx.audit(raw, "clear_dag_run", {
      dagId: run.dag_id,
      runId: run.run_id,
      extra: { only_failed: onlyFailed, cleared: cleared.length },
    });
    return respond(await runOr404(params.dag_id, params.dag_run_id));
  });

  ctx.route("get_upstream_asset_events", async ({ params }) => {
    // The events an asset-triggered run was started by (none for other runs).
    const run = await runOr404(params.dag_id, params.dag_run_id);
    return upstreamAssetEvents(database, run.id);
  });

  /**
   * NDJSON, one line per check (`{"state": ...}`) until the run is finished; the last line carries
   * `results` (the return values of the tasks asked for with `result`) when any were asked for.
   */
  ctx.route("wait_dag_run_until_finished", async ({ params, query, reply }) => {
    let run: DagRunRow | undefined = await runOr404(params.dag_id, params.dag_run_id);
    const wanted = query.result ?? [];
    const intervalMs = Math.max(1, query.interval * 1000);
    const line = async (r: DagRunRow) => {
      const out: Record<string, unknown> = { state: r.state };
      if (isRunFinished(r.state) && wanted.length > 0) {
        const rows = await database.db
          .selectFrom("xcom")
          .select(["task_id", "map_index", "value"])
          .where("dag_run_id", "=", r.id)
          .where("key", "=", RETURN_VALUE)
          .where("task_id", "in", wanted)
          .orderBy("task_id")
          .orderBy("map_index")
          .execute();
        const results: Record<string, unknown> = {};
        for (const [taskId, group] of Map.groupBy(rows, (x) => x.task_id)) {
          const values = group.map((g) => (g.value === null ? null : (JSON.parse(g.value) as unknown)));
          results[taskId] = group.length === 1 && group[0]!.map_index < 0 ? values[0] : values;
        }
        out.results = results;
      }
      return `${JSON.stringify(out)}\n`;
    };
    // The client going away ends the wait (and the sleep in progress).
    const gone = new AbortController();
    reply.raw.on("close", () => gone.abort());
    reply.hijack();
    const headers = Object.fromEntries(
      Object.entries(reply.getHeaders()).filter(
        (e): e is [string, string | number | string[]] => e[1] !== undefined,
      ),
    );
    reply.raw.writeHead(200, { ...headers, "content-type": "application/x-ndjson" });
    try {
      reply.raw.write(await line(run));
      while (!isRunFinished(run.state)) {
        await sleep(intervalMs, undefined, { signal: gone.signal }).catch(() => undefined);
        if (gone.signal.aborted) break;
        run = await runs.get(params.dag_id, params.dag_run_id);
        if (!run) break; // deleted while we waited
        reply.raw.write(await line(run));
      }
    } catch (error) {
      ctx.log.error(
        { err: error, dagId: params.dag_id, runId: params.dag_run_id },
        "waiting for a run failed",
      );
    } finally {
      reply.raw.end();
    }
  });

  registerBackfillRoutes(ctx);
}
