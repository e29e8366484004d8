import type { Command } from "commander";
import { CLEAN_TABLE_NAMES, dropArchives, listArchives } from "../../../operations/db-clean.ts";
import { withContext } from "../../context.ts";
import { outputOption, printRows, type OutputFormat } from "../../output.ts";
import { confirm } from "../../prompt.ts";

interface DropOpts {
  tables?: string;
  yes?: boolean;
  output: OutputFormat;
}

export function register(db: Command): void {
  db.command("drop-archived")
    .description("Drop the _updraft_archive_<table> tables `db clean` copied deleted rows to")
    .option(
      "-t, --tables <tables>",
      `comma-separated tables whose archive to drop (default: all): ${CLEAN_TABLE_NAMES.join(", ")}`,
    )
    .option("-y, --yes", "do not ask for confirmation")
    .addOption(outputOption())
    .action((opts: DropOpts) =>
      withContext(async (ctx) => {
        const database = await ctx.database();
        const tables = opts.tables
          ?.split(",")
          .map((t) => t.trim())
          .filter(Boolean);
        const found = await listArchives(database, tables);
        if (found.length === 0) {
          process.stderr.write("No archive tables to drop.\n");
          return;
        }
        const names = found.map((a) => `${a.archive} (${a.rows} rows)`).join(", ");
        if (!opts.yes && !(await confirm(`Drop ${names}?`))) {
          process.stderr.write("Not dropped (add --yes to drop without asking).\n");
          process.exitCode = 1;
          return;
        }
        await dropArchives(database, found);
        printRows(
          found.map((a) => ({ table: a.archive, rows: a.rows })),
          opts.output,
          ["table", "rows"],
        );
      }),
    );
}
