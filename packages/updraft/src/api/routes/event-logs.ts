/**
 * Event logs (Airflow's /api/v2/eventLogs): the audit log every change through the API, CLI and
 * scheduler writes (table audit_log; `extra` is JSON text). The logical date comes from the run.
 */
import type { ApiContext } from "../app.ts";
import { badRequest, notFound } from "../errors.ts";
import type { components } from "../generated/airflow-v2.ts";
import { applyOrder, countTotal, likeAny, paging } from "../paging.ts";

type EventLogResponse = components["schemas"]["EventLogResponse"];

const ORDER = {
  id: "l.id",
  event_log_id: "l.id",
  dttm: "l.dttm",
  when: "l.dttm",
  dag_id: "l.dag_id",
  task_id: "l.task_id",
  run_id: "l.run_id",
  event: "l.event",
  logical_date: "r.logical_date",
  owner: "l.owner",
  extra: "l.extra",
};

interface Row {
  id: number;
  dttm: string;
  event: string;
  owner: string | null;
  dag_id: string | null;
  task_id: string | null;
  run_id: string | null;
  map_index: number | null;
  try_number: number | null;
  extra: string | null;
  logical_date: string | null;
}

const fromRow = (r: Row): EventLogResponse => ({
  event_log_id: r.id,
  when: r.dttm,
  dag_id: r.dag_id,
  task_id: r.task_id,
  run_id: r.run_id,
  map_index: r.map_index,
  try_number: r.try_number,
  event: r.event,
  logical_date: r.logical_date,
  owner: r.owner,
  extra: r.extra,
  dag_display_name: r.dag_id,
  task_display_name: r.task_id,
});

function isoOf(name: string, value: string): string {
  const time = Date.parse(value);
  if (Number.isNaN(time))
    throw badRequest(`${name} must be a date-time such as 2025-01-01T00:00:00Z, got "${value}"`);
  return new Date(time).toISOString();
}

export function registerEventLogRoutes(ctx: ApiContext): void {
  const { db } = ctx.database;
  const base = () =>
    db
      .selectFrom("audit_log as l")
      .leftJoin("dag_run as r", (join) =>
        join.onRef("r.dag_id", "=", "l.dag_id").onRef("r.run_id", "=", "l.run_id"),
      )
      .select([
        "l.id",
        "l.dttm",
        "l.event",
        "l.owner",
        "l.dag_id",
        "l.task_id",
        "l.run_id",
        "l.map_index",
        "l.try_number",
        "l.extra",
        "r.logical_date",
      ]);

  ctx.route("get_event_logs", async ({ query }) => {
    let qb = base();
    for (const field of ["dag_id", "task_id", "run_id", "owner", "event"] as const) {
      const value = query[field];
      if (value !== undefined && value !== null) qb = qb.where(`l.${field}`, "=", value);
    }
    if (query.map_index !== undefined && query.map_index !== null)
      qb = qb.where("l.map_index", "=", query.map_index);
    if (query.try_number !== undefined && query.try_number !== null)
      qb = qb.where("l.try_number", "=", query.try_number);
    const events = (list: string[] | null | undefined) =>
      (list ?? [])
        .flatMap((e) => e.split(","))
        .map((e) => e.trim())
        .filter(Boolean);
    const included = events(query.included_events);
    const excluded = events(query.excluded_events);
    if (included.length) qb = qb.where("l.event", "in", included);
    if (excluded.length) qb = qb.where("l.event", "not in", excluded);
    if (query.before) qb = qb.where("l.dttm", "<", isoOf("before", query.before));
    if (query.after) qb = qb.where("l.dttm", ">", isoOf("after", query.after));
    for (const field of ["dag_id", "task_id", "run_id", "owner", "event"] as const) {
      const pattern = query[`${field}_pattern`];
      if (pattern) qb = qb.where(likeAny(`l.${field}`, pattern));
    }
    const total = await countTotal(db, qb);
    const { limit, offset } = paging(query);
    const rows = await applyOrder(qb, query.order_by, ORDER, "id", ["l.id"])
      .limit(limit)
      .offset(offset)
      .execute();
    return { event_logs: (rows as Row[]).map(fromRow), total_entries: total };
  });

  ctx.route("get_event_log", async ({ params }) => {
    const row = await base().where("l.id", "=", params.event_log_id).executeTakeFirst();
    if (!row) throw notFound(`The Event Log with id: \`${params.event_log_id}\` not found`);
    return fromRow(row as Row);
  });
}
