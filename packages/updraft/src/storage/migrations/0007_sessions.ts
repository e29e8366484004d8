/**
 * Sessions that end when they should, and login throttling that reveals nothing (issue 13):
 * - `users.token_version`: every token carries the version it was issued at; logout, a new password,
 *   a role change or a deactivation raise it, and the API refuses tokens of an older version;
 * - `login_attempt`: failed logins counted per name, whether or not a user of that name exists, so a
 *   lock looks the same for every name and parallel guesses are claimed one at a time.
 */
import { ID, TS, type MigrationContext } from "./helpers.ts";

export async function up({ db }: MigrationContext): Promise<void> {
  await db.schema
    .alterTable("users")
    .addColumn("token_version", "integer", (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .createTable("login_attempt")
    .addColumn("name", ID, (c) => c.primaryKey())
    .addColumn("failures", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("locked_until", TS)
    .execute();
}
