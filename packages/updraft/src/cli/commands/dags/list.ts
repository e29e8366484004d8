import type { Command } from "commander";
import { dagStore } from "../../../storage/dags.ts";
import { withContext } from "../../context.ts";
import { syncDags } from "../../dag-sync.ts";
import { outputOption, printRows, type OutputFormat } from "../../output.ts";

export function register(dags: Command): void {
  dags
    .command("list")
    .description("List the DAGs (the DAG files are parsed first when they changed)")
    .addOption(outputOption())
    .option("--tag <tag...>", "only DAGs with one of these tags")
    .option("--include-inactive", "also DAGs whose file is gone")
    .option("--no-parse", "list what the database holds without looking at the files")
    .action((opts: { output: OutputFormat; tag?: string[]; includeInactive?: boolean; parse: boolean }) =>
      withContext(async (ctx) => {
        if (opts.parse) await syncDags(ctx);
        const rows = await dagStore(await ctx.database()).list({
          activeOnly: !opts.includeInactive,
          tags: opts.tag,
        });
        printRows(
          rows.map((r) => ({
            dag_id: r.dag_id,
            fileloc: r.fileloc,
            owners: r.owners,
            is_paused: Boolean(r.is_paused),
            is_active: Boolean(r.is_active),
            schedule: r.schedule_description,
            tags: r.tags,
          })),
          opts.output,
          ["dag_id", "fileloc", "owners", "is_paused", "schedule"],
        );
      }),
    );
}
