import { writeFileSync } from "node:fs";
import type { Command } from "commander";
import { variableStore } from "../../../storage/variables.ts";
import { withContext } from "../../context.ts";

export function register(group: Command): void {
  group
    .command("export")
    .argument("<file>", "where to write the JSON object ('-' for stdout)")
    .description("Write every variable to a JSON file (secret values in clear: protect the file)")
    .action((file: string) =>
      withContext(async (ctx) => {
        const variables = await variableStore(await ctx.database(), ctx.cipher()).list();
        const json =
          JSON.stringify(Object.fromEntries(variables.map((v) => [v.key, v.value])), null, 2) + "\n";
        if (file === "-") process.stdout.write(json);
        else {
          writeFileSync(file, json, { mode: 0o600 });
          process.stderr.write(`${variables.length} variable(s) exported to ${file}.\n`);
        }
      }),
    );
}
