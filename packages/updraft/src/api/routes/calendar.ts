/**
 * GET /ui/calendar/{dag_id} (ui-spec.ts): a DAG's runs counted per day or hour and state, for the
 * calendar view (Airflow 3.1's calendar endpoint). Counted in SQL (storage/calendar.ts).
 */
import type { ApiContext } from "../app.ts";
import { notFound } from "../errors.ts";
import { dagStore } from "../../storage/dags.ts";
import { runsPerPeriod } from "../../storage/calendar.ts";

type LooseRoute = (
  operationId: string,
  handler: (request: {
    params: { dag_id: string };
    query: {
      granularity?: "hourly" | "daily";
      logical_date_gte?: string | null;
      logical_date_lte?: string | null;
    };
  }) => Promise<unknown>,
) => void;

export function registerCalendarRoutes(ctx: ApiContext): void {
  const route = ctx.route as unknown as LooseRoute;
  route("get_calendar", async ({ params, query }) => {
    if (!(await dagStore(ctx.database).get(params.dag_id)))
      throw notFound(`The Dag with ID: \`${params.dag_id}\` was not found`);
    const iso = (t: string | null | undefined) => (t ? new Date(t).toISOString() : null);
    const rows = await runsPerPeriod(ctx.database, {
      dagId: params.dag_id,
      granularity: query.granularity ?? "daily",
      from: iso(query.logical_date_gte),
      to: iso(query.logical_date_lte),
    });
    return { total_entries: rows.length, dag_runs: rows };
  });
}
