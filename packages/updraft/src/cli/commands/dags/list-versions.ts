import type { Command } from "commander";
import { NotFoundError } from "../../../core/errors.ts";
import { dagVersionStore } from "../../../storage/dag-versions.ts";
import { dagStore } from "../../../storage/dags.ts";
import { withContext } from "../../context.ts";
import { outputOption, printRows, type OutputFormat } from "../../output.ts";

export function register(dags: Command): void {
  dags
    .command("list-versions")
    .argument("<dag_id>")
    .description(
      "List a DAG's versions, newest first: each change of its serialized form is one (docs/architecture.md)",
    )
    .addOption(outputOption())
    .action((dagId: string, opts: { output: OutputFormat }) =>
      withContext(async (ctx) => {
        const database = await ctx.database();
        if (!(await dagStore(database).get(dagId)))
          throw new NotFoundError(`dag "${dagId}" not found: see \`updraft dags list\``);
        const versions = await dagVersionStore(database).list(dagId);
        printRows(
          versions.map((v) => ({
            version_number: v.version_number,
            created_at: v.created_at,
            dag_hash: v.dag_hash,
            source_hash: v.source_hash,
            runs: v.runs,
            fileloc: v.fileloc,
          })),
          opts.output,
        );
      }),
    );
}
