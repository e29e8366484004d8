import type { Command } from "commander";
import { InvalidInputError } from "../../../core/errors.ts";
import { variableStore } from "../../../storage/variables.ts";
import { withContext } from "../../context.ts";

export function register(group: Command): void {
  group
    .command("set")
    .argument("<key>")
    .argument("<value>")
    .description("Create or update a variable")
    .option("--description <text>", "what the variable is for")
    .option("-j, --json", "check that the value is valid JSON")
    .option(
      "--secret",
      "encrypt the value at rest and mask it in logs (automatic for keys like *password*, *secret*, *token*)",
    )
    .action((key: string, value: string, opts: { description?: string; json?: boolean; secret?: boolean }) =>
      withContext(async (ctx) => {
        if (opts.json) {
          try {
            JSON.parse(value);
          } catch (error) {
            throw new InvalidInputError(
              `variable "${key}": --json was given but the value is not JSON (${(error as Error).message})`,
            );
          }
        }
        await variableStore(await ctx.database(), ctx.cipher()).set({
          key,
          value,
          description: opts.description,
          isSecret: opts.secret || undefined,
        });
        process.stderr.write(`Variable ${key} set.\n`);
      }),
    );
}
