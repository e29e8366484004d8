/**
 * One UPDATE for many rows that each get their own values: the batched writes of the hot path (a
 * batch of finished tries, each with its own state and end date) in the form each database speaks.
 *
 *   PostgreSQL: UPDATE t SET c = v.c FROM unnest($1::text[], $2::int[], ...) AS v(...) WHERE keys match
 *   SQLite:     WITH v(...) AS (VALUES (...), (...)) UPDATE t SET c = v.c FROM v WHERE keys match
 *   MySQL:      UPDATE t JOIN (SELECT ? AS k, ... UNION ALL SELECT ...) v ON keys match SET t.c = v.c
 *
 * PostgreSQL binds one array per column, so its statement has the same few parameters for any number
 * of rows; the others bind every value, and the caller keeps a batch under their limits (`MAX_ROWS`).
 */
import { sql, type Kysely, type RawBuilder, type Transaction } from "kysely";
import type { Database } from "../database.ts";
import type { Tables, TaskInstanceRow } from "../schema.ts";

export type ColumnType = "text" | "int" | "float";

export interface RowsUpdate {
  table: keyof Tables & string;
  /** Columns that pick the row (compared with =; NULL never matches). */
  match: Record<string, ColumnType>;
  /** Columns set from each row's values. */
  set: Record<string, ColumnType>;
  /** Columns set to one value for every row (bound once). */
  constant?: Record<string, unknown>;
  /**
   * Values each row is compared with but not set from: `{ from_state: "state" }` updates a row only
   * while its `state` is still the row's `from_state` (NULL matches NULL here).
   */
  guard?: Record<string, { column: string; type: ColumnType }>;
  /** Columns set from an expression on the row's current values, e.g. `try_number + 1`. */
  computed?: Record<string, RawBuilder<unknown>>;
  rows: Record<string, unknown>[];
}

/** Rows per statement on SQLite and MySQL: 500 rows of 12 values stay far below their limits. */
export const MAX_ROWS = 500;

const PG_TYPES: Record<ColumnType, string> = { text: "text", int: "int8", float: "float8" };

/**
 * The same UPDATE, answering the rows as they now are (`RETURNING`: PostgreSQL and SQLite only), so
 * a caller that needs them makes no read before or after. One statement: outside a transaction it
 * commits alone.
 */
export async function updateFromRowsReturning(
  database: Database,
  db: Kysely<Tables> | Transaction<Tables>,
  u: RowsUpdate,
): Promise<TaskInstanceRow[]> {
  if (!database.adapter.capabilities.supportsReturning)
    throw new Error("updateFromRowsReturning needs a database with RETURNING");
  const out: TaskInstanceRow[] = [];
  const step = database.adapter.name === "postgres" ? u.rows.length || 1 : MAX_ROWS;
  for (let i = 0; i < u.rows.length; i += step) {
    const query = statementFor(database.adapter.name, { ...u, rows: u.rows.slice(i, i + step) });
    // PostgreSQL's * would add the list's columns; SQLite's means the updated table's (and it refuses
    // a qualified one).
    const all = database.adapter.name === "postgres" ? sql`${sql.table(u.table)}.*` : sql`*`;
    const result = await sql<TaskInstanceRow>`${query} returning ${all}`.execute(db);
    out.push(...result.rows);
  }
  return out;
}

export async function updateFromRows(
  database: Database,
  trx: Transaction<Tables>,
  u: RowsUpdate,
): Promise<number> {
  let updated = 0;
  const step = database.adapter.name === "postgres" ? u.rows.length || 1 : MAX_ROWS;
  for (let i = 0; i < u.rows.length; i += step) {
    const query = statementFor(database.adapter.name, { ...u, rows: u.rows.slice(i, i + step) });
    const result = await query.execute(trx);
    updated += Number(result.numAffectedRows ?? 0);
  }
  return updated;
}

function statementFor(dialect: string, u: RowsUpdate): RawBuilder<unknown> {
  const guard = u.guard ?? {};
  const columns = [...Object.keys(u.match), ...Object.keys(u.set), ...Object.keys(guard)];
  const types: Record<string, ColumnType> = {
    ...u.match,
    ...u.set,
    ...Object.fromEntries(Object.entries(guard).map(([k, g]) => [k, g.type])),
  };
  const t = sql.table(u.table);
  const nullSafeEq =
    dialect === "postgres" ? sql`is not distinct from` : dialect === "sqlite" ? sql`is` : sql`<=>`;
  const matchOn = (left: string) =>
    sql.join(
      [
        ...Object.keys(u.match).map((c) => sql`${sql.ref(`${left}.${c}`)} = ${sql.ref(`v.${c}`)}`),
        ...Object.entries(guard).map(
          ([k, g]) => sql`${sql.ref(`${left}.${g.column}`)} ${nullSafeEq} ${sql.ref(`v.${k}`)}`,
        ),
      ],
      sql` and `,
    );
  const assignments = (prefix: string) =>
    sql.join([
      ...Object.keys(u.set).map((c) => sql`${sql.ref(prefix + c)} = ${sql.ref(`v.${c}`)}`),
      ...Object.entries(u.constant ?? {}).map(([c, value]) => sql`${sql.ref(prefix + c)} = ${value}`),
      ...Object.entries(u.computed ?? {}).map(
        ([c, expression]) => sql`${sql.ref(prefix + c)} = ${expression}`,
      ),
    ]);
  if (dialect === "postgres") {
    const arrays = columns.map(
      (c) => sql`${u.rows.map((r) => r[c] ?? null)}::${sql.raw(PG_TYPES[types[c]!])}[]`,
    );
    return sql`update ${t} set ${assignments("")} from unnest(${sql.join(arrays)}) as v(${sql.join(
      columns.map((c) => sql.ref(c)),
    )}) where ${matchOn(u.table)}`;
  }
  if (dialect === "sqlite") {
    const values = sql.join(u.rows.map((r) => sql`(${sql.join(columns.map((c) => r[c] ?? null))})`));
    return sql`with v(${sql.join(columns.map((c) => sql.ref(c)))}) as (values ${values}) update ${t} set ${assignments(
      "",
    )} from v where ${matchOn(u.table)}`;
  }
  const selects = sql.join(
    u.rows.map((r) => sql`select ${sql.join(columns.map((c) => sql`${r[c] ?? null} as ${sql.ref(c)}`))}`),
    sql` union all `,
  );
  return sql`update ${t} join (${selects}) as v on ${matchOn(u.table)} set ${assignments(`${u.table}.`)}`;
}
