import type { Command } from "commander";
import { variableStore } from "../../../storage/variables.ts";
import { withContext } from "../../context.ts";

export function register(group: Command): void {
  group
    .command("delete")
    .argument("<key>")
    .description("Delete a variable")
    .action((key: string) =>
      withContext(async (ctx) => {
        await variableStore(await ctx.database(), ctx.cipher()).delete(key);
        process.stderr.write(`Variable ${key} deleted.\n`);
      }),
    );
}
