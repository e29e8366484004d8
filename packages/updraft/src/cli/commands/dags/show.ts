import type { Command } from "commander";
import { Option } from "commander";
import { NotFoundError } from "../../../core/errors.ts";
import { taskDepths, toDot } from "../../../core/graph.ts";
import type { SerializedDag } from "../../../core/serialized.ts";
import { dagStore } from "../../../storage/dags.ts";
import { withContext } from "../../context.ts";
import { syncDags } from "../../dag-sync.ts";

export function register(dags: Command): void {
  dags
    .command("show")
    .argument("<dag_id>")
    .description("Show a DAG's tasks and dependencies as text (or Graphviz DOT)")
    .addOption(
      new Option("--format <format>", "text, or dot for Graphviz").choices(["text", "dot"]).default("text"),
    )
    .option("--no-parse", "show what the database holds without looking at the files")
    .action((dagId: string, opts: { format: "text" | "dot"; parse: boolean }) =>
      withContext(async (ctx) => {
        if (opts.parse) await syncDags(ctx);
        const dag = await dagStore(await ctx.database()).getSerialized(dagId);
        if (!dag) throw new NotFoundError(`dag "${dagId}" not found: see \`updraft dags list\``);
        process.stdout.write(opts.format === "dot" ? toDot(dag) : renderText(dag));
      }),
    );
}

/** One line per task, indented by depth, with the tasks it waits for. */
export function renderText(dag: SerializedDag): string {
  const depths = taskDepths(dag);
  const lines = [`${dag.dagId} (${dag.tasks.length} tasks)`];
  const ordered = [...dag.tasks].sort(
    (a, b) => depths.get(a.taskId)! - depths.get(b.taskId)! || a.taskId.localeCompare(b.taskId),
  );
  for (const task of ordered) {
    const indent = "  ".repeat(depths.get(task.taskId)! + 1);
    const after = task.upstream.length ? `  <- ${task.upstream.join(", ")}` : "";
    const rule = task.triggerRule === "all_success" ? "" : `  [${task.triggerRule}]`;
    lines.push(`${indent}${task.taskId} (${task.kind})${rule}${after}`);
  }
  return lines.join("\n") + "\n";
}
