/**
 * Airflow's list conventions, once: `limit`/`offset`, `order_by` (several fields, `-` for descending,
 * only the fields an endpoint allows), `*_pattern` filters (SQL LIKE, `|` between alternatives) and
 * `*_gte/_gt/_lte/_lt` ranges. Each list endpoint names its sortable fields and columns.
 */
import { sql, type Expression, type ExpressionBuilder, type SelectQueryBuilder, type SqlBool } from "kysely";
import { HttpError } from "./errors.ts";

export interface Paging {
  limit: number;
  offset: number;
}

/** The page the query asks for; the spec's defaults are 50 and 0. */
export function paging(query: { limit?: number; offset?: number }, max = 1000): Paging {
  return { limit: Math.min(query.limit ?? 50, max), offset: query.offset ?? 0 };
}

/** Columns that may hold NULL: it sorts as the smallest value on every database. */
const NULLABLE =
  /(^|\.)(start_date|end_date|logical_date|duration|data_interval_start|data_interval_end|queued_at|queued_dttm|scheduled_dttm|next_dagrun[a-z_]*|last_parsed_time|note)$|^ti\.state$/;

/**
 * Applies `order_by` (e.g. ["-start_date", "dag_id"]) with the fields this endpoint allows (API field
 * name -> column), then `tieBreak` so pages are stable. Unknown fields are a 400, as in Airflow.
 * NULL is the smallest value everywhere: "newest first" ends with what never started. Pass the
 * database so that PostgreSQL (where NULL is the largest) is told so.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any table, any selection
export function applyOrder<QB extends SelectQueryBuilder<any, any, any>>(
  qb: QB,
  orderBy: string[] | string | undefined | null,
  allowed: Record<string, string | Expression<unknown>>,
  fallback: string,
  tieBreak: string[] = [],
  database?: { adapter: { capabilities: { sortsNullsLargest: boolean } } },
): QB {
  const nullsLargest = database?.adapter.capabilities.sortsNullsLargest ?? false;
  const fields = (Array.isArray(orderBy) ? orderBy : orderBy ? [orderBy] : [fallback]).flatMap((f) =>
    f
      .split(",")
      .map((x) => x.trim())
      .filter(Boolean),
  );
  let out = qb;
  const used = new Set<string>();
  for (const field of fields.length ? fields : [fallback]) {
    const desc = field.startsWith("-");
    const name = desc ? field.slice(1) : field;
    const column = allowed[name];
    if (!column)
      throw new HttpError(
        400,
        `Ordering with '${name}' is disallowed or the attribute does not exist on the model (allowed: ${Object.keys(allowed).join(", ")})`,
      );
    // A computed field (an expression) may be NULL, like a duration before the end.
    const nullable = typeof column === "string" ? NULLABLE.test(column) : true;
    if (typeof column === "string") used.add(column);
    out = (
      nullsLargest && nullable
        ? out.orderBy(column, (o) => (desc ? o.desc().nullsLast() : o.asc().nullsFirst()))
        : out.orderBy(column, desc ? "desc" : "asc")
    ) as QB;
  }
  for (const column of tieBreak) if (!used.has(column)) out = out.orderBy(column, "asc") as QB;
  return out;
}

/**
 * A `*_pattern` filter as Airflow applies it: case-insensitive LIKE of `%<part>%`, with `|` between
 * alternatives. `column` is a trusted column name.
 */
export function likeAny(
  column: string,
  pattern: string | null | undefined,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- usable in a query over any tables
): (eb: ExpressionBuilder<any, any>) => Expression<SqlBool> {
  return (eb) => {
    const parts = (pattern ?? "").split("|").filter((p) => p !== "");
    return eb.or(parts.map((p) => sql<SqlBool>`lower(${sql.ref(column)}) like ${`%${p.toLowerCase()}%`}`));
  };
}

/** The `<prefix>_gte/_gt/_lte/_lt` bounds present in `query`, as [operator, ISO value] pairs. */
export function rangeOf(query: Record<string, unknown>, prefix: string): [">=" | ">" | "<=" | "<", string][] {
  const out: [">=" | ">" | "<=" | "<", string][] = [];
  for (const [suffix, op] of [
    ["gte", ">="],
    ["gt", ">"],
    ["lte", "<="],
    ["lt", "<"],
  ] as const) {
    const value = query[`${prefix}_${suffix}`];
    if (value === undefined || value === null || value === "") continue;
    const time = Date.parse(String(value));
    if (Number.isNaN(time))
      throw new HttpError(400, `${prefix}_${suffix} must be a date-time, got "${value}"`);
    out.push([op, new Date(time).toISOString()]);
  }
  return out;
}
