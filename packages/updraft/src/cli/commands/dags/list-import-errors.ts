import type { Command } from "commander";
import { dagStore } from "../../../storage/dags.ts";
import { withContext } from "../../context.ts";
import { syncDags } from "../../dag-sync.ts";
import { outputOption, printRows, type OutputFormat } from "../../output.ts";

export function register(dags: Command): void {
  dags
    .command("list-import-errors")
    .description("List the DAG files that failed to load, and why")
    .addOption(outputOption())
    .option("--no-parse", "report what the database holds without looking at the files")
    .action((opts: { output: OutputFormat; parse: boolean }) =>
      withContext(async (ctx) => {
        if (opts.parse) await syncDags(ctx);
        const errors = await dagStore(await ctx.database()).importErrors();
        printRows(
          errors.map((e) => ({
            fileloc: e.fileloc,
            message: e.message,
            timestamp: e.timestamp,
            stacktrace: e.stacktrace,
          })),
          opts.output,
          ["fileloc", "message"],
        );
      }),
    );
}
