import type { Command } from "commander";
import { redactUrl } from "../../../storage/database.ts";
import { resetDatabase } from "../../../storage/migrate.ts";
import { withContext } from "../../context.ts";
import { confirm } from "../../prompt.ts";

export function register(db: Command): void {
  db.command("reset")
    .description("Drop every Updraft table and create them afresh: ALL DATA IS LOST")
    .option("-y, --yes", "do not ask for confirmation")
    .action((opts: { yes?: boolean }) =>
      withContext(async (ctx) => {
        const url = redactUrl(ctx.config.values.database.url);
        if (!opts.yes && !(await confirm(`This drops all Updraft data in ${url}. Continue?`))) {
          process.stderr.write("Cancelled; nothing was changed.\n");
          process.exitCode = 1;
          return;
        }
        const database = await ctx.database({ requireMigrated: false });
        await resetDatabase(database, (line) => process.stderr.write(`  ${line}\n`));
        process.stdout.write(`Database ${url} was reset.\n`);
      }),
    );
}
