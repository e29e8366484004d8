/** Leases: named, expiring locks held by one service at a time (the SQLite scheduler, later others). */
import { ID, TS, type MigrationContext } from "./helpers.ts";

export async function up({ db }: MigrationContext): Promise<void> {
  await db.schema
    .createTable("lease")
    .addColumn("name", ID, (c) => c.primaryKey())
    .addColumn("holder", "varchar(250)", (c) => c.notNull())
    .addColumn("expires_at", TS, (c) => c.notNull())
    .execute();
}
