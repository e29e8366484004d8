import type { Command } from "commander";
import { NotFoundError } from "../../../core/errors.ts";
import { dagStore } from "../../../storage/dags.ts";
import { withContext } from "../../context.ts";
import { outputOption, printRows, type OutputFormat } from "../../output.ts";

export function register(tasks: Command): void {
  tasks
    .command("list")
    .argument("<dag_id>")
    .description("List a DAG's tasks in dependency order")
    .addOption(outputOption())
    .action((dagId: string, opts: { output: OutputFormat }) =>
      withContext(async (ctx) => {
        const dag = await dagStore(await ctx.database()).getSerialized(dagId);
        if (!dag) throw new NotFoundError(`dag "${dagId}" not found: see \`updraft dags list\``);
        printRows(
          dag.tasks.map((t) => ({
            task_id: t.taskId,
            kind: t.kind,
            upstream: t.upstream,
            trigger_rule: t.triggerRule,
            retries: t.retries,
            pool: t.pool,
          })),
          opts.output,
          ["task_id", "kind", "upstream", "trigger_rule", "retries", "pool"],
        );
      }),
    );
}
