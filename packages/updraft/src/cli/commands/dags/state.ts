import type { Command } from "commander";
import { NotFoundError } from "../../../core/errors.ts";
import { dagRunStore } from "../../../storage/dag-runs.ts";
import { withContext } from "../../context.ts";

export function register(dags: Command): void {
  dags
    .command("state")
    .argument("<dag_id>")
    .argument("<run_id>")
    .description("Print a run's state")
    .action((dagId: string, runId: string) =>
      withContext(async (ctx) => {
        const run = await dagRunStore(await ctx.database()).get(dagId, runId);
        if (!run)
          throw new NotFoundError(
            `dag "${dagId}" has no run "${runId}": see \`updraft dags list-runs ${dagId}\``,
          );
        process.stdout.write(`${run.state}\n`);
      }),
    );
}
