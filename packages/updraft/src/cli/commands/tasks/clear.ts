import type { Command } from "commander";
import { clearTaskInstances } from "../../../operations/clear.ts";
import { withContext } from "../../context.ts";
import { outputOption, printRows, type OutputFormat } from "../../output.ts";
import { confirm } from "../../prompt.ts";
import { parseDate } from "../dags/trigger.ts";

interface ClearOpts {
  taskRegex?: string;
  runId?: string;
  startDate?: string;
  endDate?: string;
  upstream?: boolean;
  downstream?: boolean;
  onlyFailed?: boolean;
  yes?: boolean;
  output: OutputFormat;
}

export function register(tasks: Command): void {
  tasks
    .command("clear")
    .argument("<dag_id>")
    .description("Clear task instances so they run again (running ones are stopped and restarted)")
    .option("-t, --task-regex <regex>", "only tasks whose id matches")
    .option("-r, --run-id <run_id>", "only this run")
    .option("-s, --start-date <date>", "only runs with a logical date on or after this")
    .option("-e, --end-date <date>", "only runs with a logical date on or before this")
    .option("-u, --upstream", "also the tasks upstream of those matched")
    .option("-d, --downstream", "also the tasks downstream of those matched")
    .option("-f, --only-failed", "only failed and upstream_failed task instances")
    .option("-y, --yes", "do not ask for confirmation")
    .addOption(outputOption())
    .action((dagId: string, opts: ClearOpts) =>
      withContext(async (ctx) => {
        const database = await ctx.database();
        const selection = {
          dagId,
          taskRegex: opts.taskRegex,
          runId: opts.runId,
          startDate: parseDate(opts.startDate)?.toISOString(),
          endDate: parseDate(opts.endDate)?.toISOString(),
          upstream: opts.upstream,
          downstream: opts.downstream,
          onlyFailed: opts.onlyFailed,
        };
        const planned = await clearTaskInstances(database, { ...selection, dryRun: true });
        if (planned.length === 0) {
          process.stderr.write("Nothing to clear.\n");
          return;
        }
        if (!opts.yes && !(await confirm(`Clear ${planned.length} task instance(s) of ${dagId}?`))) {
          printRows(
            planned.map((c) => ({ dag_id: c.dagId, run_id: c.runId, task_id: c.taskId, state: c.from })),
            opts.output,
          );
          process.stderr.write("Not cleared (add --yes to clear without asking).\n");
          process.exitCode = 1;
          return;
        }
        const cleared = await clearTaskInstances(database, selection);
        printRows(
          cleared.map((c) => ({ dag_id: c.dagId, run_id: c.runId, task_id: c.taskId, state: c.from })),
          opts.output,
        );
        process.stderr.write(`${cleared.length} task instance(s) cleared.\n`);
      }),
    );
}
