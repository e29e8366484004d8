/**
 * Backfills. Updraft's metadata database has no backfill table yet (its CLI backfills are plain runs
 * of type backfill), so no backfill object exists to list, get, pause, unpause or cancel, and one
 * cannot be created through the API. The dry run works: the logical dates a backfill would create,
 * from the DAG's timetable, with Airflow's reprocess rules against the runs that exist.
 */
import { InvalidInputError, UpdraftError } from "../../core/errors.ts";
import { resolveParams } from "../../core/params.ts";
import type { SerializedDag } from "../../core/serialized.ts";
import { backfillIntervals, datesToReprocess } from "../../operations/backfill.ts";
import { dagStore } from "../../storage/dags.ts";
import type { ApiContext } from "../app.ts";
import { badRequest, HttpError, notFound } from "../errors.ts";
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
        new Date(body.to_date),
      );
    } catch (error) {
      if (error instanceof UpdraftError && error.code === "INVALID_INPUT") throw unprocessable(error.message);
      throw error;
    }
    if (body.run_backwards) infos.reverse();
    const dates = await datesToReprocess(ctx.database, dag.dagId, infos, body.reprocess_behavior ?? "none");
    return {
      backfills: dates.map((d) => ({ logical_date: d, partition_key: null, partition_date: null })),
      total_entries: dates.length,
    };
  });

  ctx.route("list_backfills", async () => ({ backfills: [], total_entries: 0 }));

  ctx.route("create_backfill", async ({ body }) => {
    await validated(ctx, body);
    throw badRequest(
      "This Updraft version cannot record backfills made through the API (its database has no backfill table): preview one with POST /api/v2/backfills/dry_run and run it with `updraft dags backfill`",
    );
  });

  ctx.route("get_backfill", async () => {
    throw notFound("Backfill not found");
  });
  for (const op of ["pause_backfill", "unpause_backfill", "cancel_backfill"] as const)
    ctx.route(op, async ({ params }) => {
      throw notFound(`Could not find backfill with id ${params.backfill_id}`);
    });
}
