import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { Option } from "commander";
import { InvalidInputError } from "../../../core/errors.ts";
import { checkVariable, variableStore } from "../../../storage/variables.ts";
import { withContext } from "../../context.ts";
import { progressReporter } from "../../progress.ts";

export function register(group: Command): void {
  group
    .command("import")
    .argument("<file>", 'a JSON object: {"key": value, ...}; non-string values are stored as JSON')
    .description("Create or update variables from a JSON file")
    .addOption(
      new Option("--action-on-existing-key <action>", "what to do with a key that exists")
        .choices(["overwrite", "fail", "skip"])
        .default("overwrite"),
    )
    .action((file: string, opts: { actionOnExistingKey: "overwrite" | "fail" | "skip" }) =>
      withContext(async (ctx) => {
        // Non-string values are stored as JSON text.
        const entries = Object.entries(readJsonObject(file)).map(
          ([key, value]) => [key, typeof value === "string" ? value : JSON.stringify(value)] as const,
        );
        // Every key checked before any is written: a bad one stops the import with nothing half done.
        for (const [key, value] of entries) {
          try {
            checkVariable(key, value);
          } catch (error) {
            throw new InvalidInputError(`${file}: ${(error as Error).message}; nothing was imported`);
          }
        }
        const store = variableStore(await ctx.database(), ctx.cipher());
        const report = progressReporter("Importing variables");
        let written = 0;
        for (const [i, [key, value]] of entries.entries()) {
          const exists = (await store.get(key)) !== undefined;
          if (exists && opts.actionOnExistingKey === "fail")
            throw new InvalidInputError(
              `${file}: variable "${key}" already exists (stopped after ${written} written; use --action-on-existing-key overwrite or skip)`,
            );
          if (!(exists && opts.actionOnExistingKey === "skip")) {
            await store.set({ key, value });
            written++;
          }
          report(i + 1, entries.length, key);
        }
        process.stdout.write(`${written} of ${entries.length} variable(s) imported from ${file}.\n`);
      }),
    );
}

function readJsonObject(file: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new InvalidInputError(`${file} is not readable JSON: ${(error as Error).message}`);
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed))
    throw new InvalidInputError(`${file} must hold a JSON object of key: value`);
  return parsed as Record<string, unknown>;
}
