/**
 * Backfills (Airflow 3's): created with a date range, reprocess behaviour, conf and max_active_runs
 * (operations/backfill.ts createBackfill), listed per DAG, paused, unpaused and cancelled; the dry
 * run lists the logical dates a backfill would run, with the same rules. The scheduler starts a
 * backfill's runs within its max_active_runs and completes it once none is left to do.
 */
import { InvalidInputError, UpdraftError } from "../../core/errors.ts";
import { resolveParams } from "../../core/params.ts";
import type { SerializedDag } from "../../core/serialized.ts";
import { backfillIntervals, createBackfill, datesToReprocess } from "../../operations/backfill.ts";
import { backfillStore } from "../../storage/backfills.ts";
import type { BackfillRow } from "../../storage/schema.ts";
import { dagStore } from "../../storage/dags.ts";
import type { ApiContext } from "../app.ts";
import { HttpError, notFound } from "../errors.ts";
import type { components } from "../generated/airflow-v2.ts";

type BackfillPostBody = components["schemas"]["BackfillPostBody"];

/** A 422 in FastAPI's shape, as Airflow answers a backfill it cannot make. */
function unprocessable(msg: string): HttpError {
  return new HttpError(422, [{ type: "value_error", loc: ["body"], msg, input: null }]);
}

/** Airflow's _validate_backfill_params, plus the DAG's existence and its conf. */
async function validated(ctx: ApiContext, body: BackfillPostBody): Promise<SerializedDag> {
  const dag = await dagStore(ctx.database).getSerialized(body.dag_id);
  if (!dag) throw notFound(`Could not find dag ${body.dag_id}`);
  const from = Date.parse(body.from_date);
  const to = Date.parse(body.to_date);
  if (Number.isNaN(from) || Number.isNaN(to))
    throw unprocessable("from_date and to_date must be date-times with a time zone");
  const reprocess = body.reprocess_behavior ?? "none";
  if (dag.tasks.some((t) => t.dependsOnPast)) {
    if (body.run_backwards)
      throw unprocessable(
        "Backfill cannot be run in reverse when the DAG has tasks where depends_on_past=True.",
      );
    if (reprocess === "none")
      throw unprocessable(
        "DAG has tasks for which depends_on_past=True. You must set reprocess behavior to reprocess completed or reprocess failed.",
      );
  }
  if (from > to)
    throw unprocessable(`from_date (${body.from_date}) must not be after to_date (${body.to_date}).`);
  const now = Date.parse(ctx.now());
  if (from >= now && to >= now) throw unprocessable("Backfill cannot be executed for future dates.");
  if (dag.schedule === null) throw unprocessable(`${dag.dagId} has no schedule`);
  try {
    resolveParams(dag.dagId, dag.params, body.dag_run_conf ?? {});
  } catch (error) {
    if (error instanceof InvalidInputError) throw unprocessable(error.message);
    throw error;
  }
  return dag;
}

export function registerBackfillRoutes(ctx: ApiContext): void {
  ctx.route("create_backfill_dry_run", async ({ body }) => {
    const dag = await validated(ctx, body);
    let infos;
    try {
      infos = await backfillIntervals(
        ctx.database,
        dag.dagId,
        new Date(body.from_date),
        // Intervals still to come are the scheduler's: no need to count them (a far "to" stays quick).
        new Date(Math.min(Date.parse(body.to_date), Date.parse(ctx.now()))),
      );
    } catch (error) {
      if (error instanceof UpdraftError && error.code === "INVALID_INPUT") throw unprocessable(error.message);
      throw error;
    }
    // Only whole intervals, as createBackfill makes them.
    infos = infos.filter((i) => i.dataIntervalEnd.getTime() <= Date.parse(ctx.now()));
    if (body.run_backwards) infos.reverse();
    const dates = await datesToReprocess(ctx.database, dag.dagId, infos, body.reprocess_behavior ?? "none");
    return {
      backfills: dates.map((d) => ({ logical_date: d, partition_key: null, partition_date: null })),
      total_entries: dates.length,
    };
  });

  const store = backfillStore(ctx.database);

  ctx.route("list_backfills", async ({ query }) => {
    const order = query.order_by?.[0] ?? "id";
    if (order !== "id" && order !== "-id")
      throw new HttpError(
        400,
        `Ordering with '${order}' is disallowed or the attribute does not exist on the model`,
      );
    const { rows, total } = await store.list(query.dag_id, {
      limit: query.limit ?? 50,
      offset: query.offset ?? 0,
      order,
    });
    return { backfills: rows.map(backfillResponse), total_entries: total };
  });

  ctx.route("create_backfill", async ({ body, user, raw }) => {
    const dag = await validated(ctx, body);
    const maxActiveRuns = body.max_active_runs ?? 10;
    if (!Number.isInteger(maxActiveRuns) || maxActiveRuns < 1)
      throw unprocessable("max_active_runs must be a whole number of at least 1");
    try {
      const made = await createBackfill(ctx.database, {
        dagId: dag.dagId,
        from: new Date(body.from_date),
        to: new Date(body.to_date),
        runBackwards: body.run_backwards ?? false,
        conf: (body.dag_run_conf ?? {}) as Record<string, unknown>,
        reprocess: body.reprocess_behavior ?? "none",
        maxActiveRuns,
        user: user.username,
      });
      await ctx.audit(raw, "create_backfill", { dagId: dag.dagId, extra: { backfill_id: made.id } });
      return backfillResponse(made);
    } catch (error) {
      if (error instanceof UpdraftError && error.code === "CONFLICT") throw new HttpError(409, error.message);
      if (error instanceof UpdraftError && error.code === "INVALID_INPUT") throw unprocessable(error.message);
      throw error;
    }
  });

  const existing = async (id: number) => {
    const b = await store.get(id);
    if (!b) throw notFound(`Could not find backfill with id ${id}`);
    return b;
  };
  ctx.route("get_backfill", async ({ params }) => backfillResponse(await existing(params.backfill_id)));

  for (const [op, paused] of [
    ["pause_backfill", true],
    ["unpause_backfill", false],
  ] as const)
    ctx.route(op, async ({ params, raw }) => {
      const b = await existing(params.backfill_id);
      if (!(await store.setPaused(b.id, paused)))
        throw new HttpError(
          409,
          `Backfill ${b.id} is already completed: it cannot be ${paused ? "paused" : "unpaused"}`,
        );
      await ctx.audit(raw, op, { dagId: b.dag_id, extra: { backfill_id: b.id } });
      return backfillResponse((await store.get(b.id))!);
    });

  ctx.route("cancel_backfill", async ({ params, raw }) => {
    const b = await existing(params.backfill_id);
    if (!(await store.cancel(b.id))) throw new HttpError(409, `Backfill ${b.id} is already completed.`);
    await ctx.audit(raw, "cancel_backfill", { dagId: b.dag_id, extra: { backfill_id: b.id } });
    return backfillResponse((await store.get(b.id))!);
  });
}

/** Airflow's BackfillResponse. */
function backfillResponse(b: BackfillRow) {
  const iso = (t: string) => new Date(t).toISOString();
  return {
    id: b.id,
    dag_id: b.dag_id,
    from_date: iso(b.from_date),
    to_date: iso(b.to_date),
    dag_run_conf: JSON.parse(b.dag_run_conf) as Record<string, unknown>,
    is_paused: b.is_paused === 1,
    reprocess_behavior: b.reprocess_behavior as "none" | "failed" | "completed",
    max_active_runs: b.max_active_runs,
    created_at: iso(b.created_at),
    completed_at: b.completed_at ? iso(b.completed_at) : null,
    updated_at: iso(b.updated_at),
    dag_display_name: b.dag_id,
  };
}
