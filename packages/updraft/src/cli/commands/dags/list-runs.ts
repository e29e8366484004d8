import type { Command } from "commander";
import { dagRunStore } from "../../../storage/dag-runs.ts";
import { withContext } from "../../context.ts";
import { outputOption, printRows, type OutputFormat } from "../../output.ts";

export function register(dags: Command): void {
  dags
    .command("list-runs")
    .argument("<dag_id>")
    .description("List a DAG's runs, newest first")
    .option("--state <state>", "only runs in this state (queued, running, success, failed)")
    .option("--limit <n>", "at most this many", "50")
    .addOption(outputOption())
    .action((dagId: string, opts: { state?: string; limit: string; output: OutputFormat }) =>
      withContext(async (ctx) => {
        const runs = await dagRunStore(await ctx.database()).list({
          dagId,
          states: opts.state ? [opts.state] : undefined,
          limit: Number(opts.limit),
        });
        printRows(
          runs.map((r) => ({
            dag_id: r.dag_id,
            run_id: r.run_id,
            state: r.state,
            run_type: r.run_type,
            logical_date: r.logical_date,
            start_date: r.start_date,
            end_date: r.end_date,
          })),
          opts.output,
        );
      }),
    );
}
