import type { Command } from "commander";
import { NotFoundError } from "../../../core/errors.ts";
import { taskInstanceStore } from "../../../storage/task-instances.ts";
import { withContext } from "../../context.ts";

export function register(tasks: Command): void {
  tasks
    .command("state")
    .argument("<dag_id>")
    .argument("<task_id>")
    .argument("<run_id>")
    .option("--map-index <n>", "the mapped task instance", "-1")
    .description("Print a task instance's state")
    .action((dagId: string, taskId: string, runId: string, opts: { mapIndex: string }) =>
      withContext(async (ctx) => {
        const ti = await taskInstanceStore(await ctx.database()).get({
          dagId,
          runId,
          taskId,
          mapIndex: Number(opts.mapIndex),
        });
        if (!ti) throw new NotFoundError(`no task instance ${dagId}.${taskId} in run "${runId}"`);
        process.stdout.write(`${ti.state ?? "none"}\n`);
      }),
    );
}
