import type { Command } from "commander";
import { redactUrl } from "../../../storage/database.ts";
import { migrationStatus, pingDatabase } from "../../../storage/migrate.ts";
import { withContext } from "../../context.ts";

export function register(db: Command): void {
  db.command("check")
    .description("Check that the database is reachable and its tables are up to date")
    .action(() =>
      withContext(async (ctx) => {
        const database = await ctx.database({ requireMigrated: false });
        const ms = await pingDatabase(database);
        const pending = (await migrationStatus(database)).filter((m) => m.appliedAt === null);
        process.stdout.write(
          `Connection to ${redactUrl(ctx.config.values.database.url)} is OK (${ms.toFixed(1)} ms).\n`,
        );
        if (pending.length > 0) {
          process.stderr.write(
            `${pending.length} migration(s) pending (${pending.map((m) => m.name).join(", ")}): run \`updraft db migrate\`.\n`,
          );
          process.exitCode = 1;
        }
      }),
    );
}
