import type { Command } from "commander";
import { variableStore } from "../../../storage/variables.ts";
import { withContext } from "../../context.ts";
import { outputOption, printRows, type OutputFormat } from "../../output.ts";

export function register(group: Command): void {
  group
    .command("list")
    .description("List variables (secret values are masked)")
    .addOption(outputOption())
    .action((opts: { output: OutputFormat }) =>
      withContext(async (ctx) => {
        const variables = await variableStore(await ctx.database(), ctx.cipher()).list();
        printRows(
          variables.map((v) => ({
            key: v.key,
            value: v.isSecret ? "***" : v.value,
            description: v.description,
            is_secret: v.isSecret,
          })),
          opts.output,
          ["key", "value", "description", "is_secret"],
        );
      }),
    );
}
