/** Column shapes shared by every migration, so the three databases get the same schema. */
import { sql, type CreateTableBuilder, type Kysely } from "kysely";
import type { DialectAdapter } from "../dialect.ts";

export interface MigrationContext {
  db: Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- migrations see the schema as it was then
  adapter: DialectAdapter;
}

/** Ids are 250 characters as in Airflow; a MySQL key of three of them stays under 3072 bytes. */
export const ID = "varchar(250)";
/** ISO-8601 UTC with milliseconds: "2025-01-01T00:00:00.000Z". */
export const TS = "varchar(32)";

export function withAutoId<T extends string>(
  table: CreateTableBuilder<T, never>,
  adapter: DialectAdapter,
): CreateTableBuilder<T, "id"> {
  if (adapter.name === "postgres") return table.addColumn("id", "serial", (c) => c.primaryKey());
  return table.addColumn("id", "integer", (c) => c.primaryKey().autoIncrement());
}

export function longText(adapter: DialectAdapter) {
  return sql.raw(adapter.columnTypes.longText);
}
