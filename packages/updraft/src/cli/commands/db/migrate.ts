import type { Command } from "commander";
import { migrateDatabase } from "../../../storage/migrate.ts";
import { redactUrl } from "../../../storage/database.ts";
import { withContext } from "../../context.ts";

export function register(db: Command): void {
  db.command("migrate")
    .alias("initdb")
    .description(
      "Create or upgrade the metadata database's tables (safe to run again, and from several processes)",
    )
    .action(migrate);
}

/** `updraft initdb`, the old top-level name, kept for muscle memory. */
export function registerTopLevelAlias(program: Command): void {
  program.command("initdb", { hidden: true }).description("Alias of `db migrate`").action(migrate);
}

function migrate(): Promise<void> {
  return withContext(async (ctx) => {
    const database = await ctx.database({ requireMigrated: false });
    process.stderr.write(`Migrating ${redactUrl(ctx.config.values.database.url)}\n`);
    const applied = await migrateDatabase(database, (line) => process.stderr.write(`  ${line}\n`));
    process.stdout.write(
      applied.length ? `Applied ${applied.length} migration(s).\n` : "Database is up to date.\n",
    );
  });
}
