import type { Command } from "commander";
import { NotFoundError } from "../../../core/errors.ts";
import { dagRunStore } from "../../../storage/dag-runs.ts";
import { taskInstanceStore } from "../../../storage/task-instances.ts";
import { withContext } from "../../context.ts";
import { outputOption, printRows, type OutputFormat } from "../../output.ts";

export function register(tasks: Command): void {
  tasks
    .command("states-for-dag-run")
    .argument("<dag_id>")
    .argument("<run_id>")
    .description("The state of every task instance of a run")
    .addOption(outputOption())
    .action((dagId: string, runId: string, opts: { output: OutputFormat }) =>
      withContext(async (ctx) => {
        const database = await ctx.database();
        const run = await dagRunStore(database).get(dagId, runId);
        if (!run)
          throw new NotFoundError(
            `dag "${dagId}" has no run "${runId}": see \`updraft dags list-runs ${dagId}\``,
          );
        const tis = await taskInstanceStore(database).listByRun(run.id);
        printRows(
          tis.map((t) => ({
            dag_id: t.dag_id,
            run_id: t.run_id,
            task_id: t.task_id,
            map_index: t.map_index,
            state: t.state ?? "none",
            try_number: t.try_number,
            start_date: t.start_date,
            end_date: t.end_date,
          })),
          opts.output,
          ["task_id", "state", "try_number", "start_date", "end_date"],
        );
      }),
    );
}
