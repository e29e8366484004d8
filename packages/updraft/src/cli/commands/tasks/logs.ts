import type { Command } from "commander";
import { NotFoundError } from "../../../core/errors.ts";
import { readTaskLog, taskLogPath } from "../../../logs/files.ts";
import { taskInstanceStore } from "../../../storage/task-instances.ts";
import { withContext } from "../../context.ts";

export function register(tasks: Command): void {
  tasks
    .command("logs")
    .argument("<dag_id>")
    .argument("<task_id>")
    .argument("<run_id>")
    .option("--try <n>", "which try (default: the latest)")
    .option("--map-index <n>", "the mapped task instance", "-1")
    .description("Print a task instance's log")
    .action((dagId: string, taskId: string, runId: string, opts: { try?: string; mapIndex: string }) =>
      withContext(async (ctx) => {
        const ti = await taskInstanceStore(await ctx.database()).get({
          dagId,
          runId,
          taskId,
          mapIndex: Number(opts.mapIndex),
        });
        if (!ti) throw new NotFoundError(`no task instance ${dagId}.${taskId} in run "${runId}"`);
        const tryNumber = opts.try ? Number(opts.try) : ti.try_number;
        const path = taskLogPath(ctx.config.values.logging.base_log_folder, { ...ti, try_number: tryNumber });
        const text = readTaskLog(path, ctx.config.values.logging.base_log_folder);
        if (text === undefined) {
          throw new NotFoundError(
            `no log for try ${tryNumber} of ${dagId}.${taskId} in run "${runId}" (${path})`,
          );
        }
        process.stdout.write(text);
      }),
    );
}
