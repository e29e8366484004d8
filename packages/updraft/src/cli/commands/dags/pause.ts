import type { Command } from "commander";
import { NotFoundError } from "../../../core/errors.ts";
import { dagStore } from "../../../storage/dags.ts";
import { withContext } from "../../context.ts";

export function register(dags: Command): void {
  for (const [name, paused] of [
    ["pause", true],
    ["unpause", false],
  ] as const) {
    dags
      .command(name)
      .argument("<dag_id>")
      .description(
        paused
          ? "Pause a DAG: no new scheduled runs; running ones finish"
          : "Unpause a DAG: its schedule runs again",
      )
      .action((dagId: string) =>
        withContext(async (ctx) => {
          if (!(await dagStore(await ctx.database()).setPaused(dagId, paused)))
            throw new NotFoundError(`dag "${dagId}" not found: see \`updraft dags list\``);
          process.stdout.write(`Dag ${dagId} ${paused ? "paused" : "unpaused"}.\n`);
        }),
      );
  }
}
