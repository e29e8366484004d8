import type { Command } from "commander";
import { NotFoundError } from "../../../core/errors.ts";
import { defaultSecrets } from "../../../secrets/backends.ts";
import { withContext } from "../../context.ts";

export function register(group: Command): void {
  group
    .command("get")
    .argument("<key>")
    .description("Print a variable's value (UPDRAFT_VAR_<KEY> in the environment wins over the database)")
    .option("-d, --default <value>", "print this instead of failing when the variable does not exist")
    .option("-j, --json", "the value is JSON: print it formatted")
    .action((key: string, opts: { default?: string; json?: boolean }) =>
      withContext(async (ctx) => {
        const found = await defaultSecrets(await ctx.database(), ctx.cipher()).getVariable(key);
        const value = found?.value ?? opts.default;
        if (value === undefined)
          throw new NotFoundError(`variable "${key}" does not exist (use --default to print a fallback)`);
        process.stdout.write((opts.json ? JSON.stringify(JSON.parse(value), null, 2) : value) + "\n");
      }),
    );
}
