/**
 * Airflow's list conventions, once: `limit`/`offset`, `order_by` (several fields, `-` for descending,
 * only the fields an endpoint allows), `*_pattern` filters (SQL LIKE, `|` between alternatives) and
 * `*_gte/_gt/_lte/_lt` ranges. Each list endpoint names its sortable fields and columns.
 */
import {
  sql,
  type Expression,
  type ExpressionBuilder,
  type Kysely,
  type SelectQueryBuilder,
  type SqlBool,
} from "kysely";
import { HttpError } from "./errors.ts";

export interface Paging {
  limit: number;
  offset: number;
}

/** The page the query asks for; the spec's defaults are 50 and 0. */
export function paging(query: { limit?: number; offset?: number }, max = 1000): Paging {
  return { limit: Math.min(query.limit ?? 50, max), offset: query.offset ?? 0 };
}

/** Totals up to this many rows are counted exactly at every request (reading at most that many). */
const EXACT_UP_TO = 10_000;
/** Larger totals are counted exactly too, but reused this long (and recounted in the background). */
const LARGE_TOTAL_MS = 10_000;
type LargeTotals = Map<string, { at: number; n: number; refreshing?: Promise<unknown> }>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- per database, any tables
const largeTotalsOf = new WeakMap<Kysely<any>, LargeTotals>();

/**
 * `total_entries` of a list without counting a million rows at every page: the filtered query is
 * counted up to EXACT_UP_TO + 1 rows; past that, the exact count of the same query is reused for a few
 * seconds (a list over the whole history changes by a few rows a second, and the UI asks for the same
 * list every few seconds). `qb` is the filtered query, before order and paging.
 */
export async function countTotal(
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- any tables
  db: Kysely<any>,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- any table, any selection
  qb: SelectQueryBuilder<any, any, any>,
  clock: () => number = Date.now,
): Promise<number> {
  const base = qb.clearSelect().clearOrderBy().clearLimit().clearOffset();
  const capped = await db
    .selectFrom(
      base
        .select(sql`1`.as("one"))
        .limit(EXACT_UP_TO + 1)
        .as("capped"),
    )
    .select(sql<number | string>`count(*)`.as("n"))
    .executeTakeFirst();
  const n = Number(capped?.n ?? 0);
  if (n <= EXACT_UP_TO) return n;
  const exact = base.select(sql<number | string>`count(*)`.as("n"));
  const compiled = exact.compile();
  const key = `${compiled.sql}\u0000${JSON.stringify(compiled.parameters)}`;
  let largeTotals = largeTotalsOf.get(db);
  if (!largeTotals) largeTotalsOf.set(db, (largeTotals = new Map()));
  const recount = async () => {
    const row = await exact.executeTakeFirst();
    const entry = { at: clock(), n: Number((row as { n?: number | string } | undefined)?.n ?? 0) };
    if (largeTotals.size >= 500) largeTotals.delete(largeTotals.keys().next().value!);
    largeTotals.set(key, entry);
    return entry.n;
  };
  const cached = largeTotals.get(key);
  if (!cached) return recount();
  if (clock() - cached.at > LARGE_TOTAL_MS && !cached.refreshing)
    cached.refreshing = recount().catch(() => (cached.refreshing = undefined));
  return Math.max(cached.n, n);
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
  reverse = false,
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
    const name = field.startsWith("-") ? field.slice(1) : field;
    const desc = field.startsWith("-") !== reverse;
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
  for (const column of tieBreak)
    if (!used.has(column)) out = out.orderBy(column, reverse ? "desc" : "asc") as QB;
  return out;
}

/**
 * Where a page is read from. A page past the middle of `total` rows is read from the other end, in
 * the reverse order, and reversed again: offset 999,950 of a million becomes offset 0, so no database
 * steps over the rows before it. Exact because every order is total (tie-breaks) and NULL sorts as
 * the smallest value both ways (ADR S12); a total reused from a moment ago may shift a deep page by
 * the rows added since, as any offset page shifts while rows are added.
 */
export function pageFromEnd(page: Paging, total: number): Paging & { reversed: boolean } {
  if (page.offset <= total / 2) return { ...page, reversed: false };
  const end = Math.min(total, page.offset + page.limit);
  return { limit: Math.max(0, end - page.offset), offset: Math.max(0, total - end), reversed: true };
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
