/** Insert-or-update in one statement, in the form each database speaks (capability flag). */
import type { Insertable, Transaction, Kysely } from "kysely";
import type { Database } from "./database.ts";
import type { Tables } from "./schema.ts";

export async function upsert<T extends keyof Tables & string>(
  database: Database,
  db: Kysely<Tables> | Transaction<Tables>,
  table: T,
  values: Insertable<Tables[T]>,
  conflictColumns: (keyof Tables[T] & string)[],
  updateColumns: (keyof Tables[T] & string)[],
): Promise<void> {
  const updates = Object.fromEntries(updateColumns.map((c) => [c, (values as Record<string, unknown>)[c]]));
  // Kysely's generic builders cannot follow a table name chosen at run time; the columns are checked above.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const insert = (db as Kysely<any>).insertInto(table).values(values);
  if (database.adapter.capabilities.supportsOnConflict) {
    await insert.onConflict((oc) => oc.columns(conflictColumns).doUpdateSet(updates as never)).execute();
  } else {
    await insert.onDuplicateKeyUpdate(updates as never).execute();
  }
}
