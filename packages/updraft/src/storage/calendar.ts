/**
 * A DAG's runs counted per UTC day or hour and state (the UI's calendar). Timestamps are stored as
 * ISO-8601 UTC text, so the period is a prefix of it: the same `substr` on SQLite, PostgreSQL and
 * MySQL, grouped by the database (a year of daily runs is at most a few thousand small rows back).
 */
import { sql } from "kysely";
import type { Database } from "./database.ts";

export interface PeriodCount {
  /** "2026-01-31", or "2026-01-31T05:00:00Z" for hours. */
  date: string;
  state: string;
  count: number;
}

export async function runsPerPeriod(
  database: Database,
  o: { dagId: string; granularity: "hourly" | "daily"; from: string | null; to: string | null },
): Promise<PeriodCount[]> {
  const length = o.granularity === "hourly" ? 13 : 10;
  const when = sql<string>`coalesce(logical_date, run_after)`;
  const period = sql<string>`substr(${when}, 1, ${sql.lit(length)})`;
  let q = database.db
    .selectFrom("dag_run")
    .select([period.as("period"), "state", sql<number | string>`count(*)`.as("n")])
    .where("dag_id", "=", o.dagId);
  if (o.from) q = q.where(when, ">=", o.from);
  if (o.to) q = q.where(when, "<=", o.to);
  const rows = await q.groupBy([period, "state"]).orderBy(period).orderBy("state").execute();
  return rows.map((r) => ({
    date: o.granularity === "hourly" ? `${r.period}:00:00Z` : r.period,
    state: r.state,
    count: Number(r.n),
  }));
}
