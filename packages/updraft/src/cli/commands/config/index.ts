/** `updraft config list|get-value`. */
import type { Command } from "commander";
import { NotFoundError } from "../../../core/errors.ts";
import { loadConfig, type ConfigEntry } from "../../../config/load.ts";
import { outputOption, printRows, type OutputFormat } from "../../output.ts";

function shown(entry: ConfigEntry, reveal: boolean): string | number | boolean {
  if (!entry.sensitive || reveal || entry.value === "") return entry.value;
  return typeof entry.value === "string" && entry.value.includes("://")
    ? entry.value.replace(/(\/\/[^:/@]*:)[^@]*@/, "$1***@")
    : "***";
}

export function register(program: Command): void {
  const group = program.command("config").description("Show the effective configuration");
  group
    .command("list")
    .description(
      "Every option's effective value and where it came from (default, updraft.toml or the environment)",
    )
    .option("--section <section>", "only this section")
    .option("--reveal", "show sensitive values (keys, database passwords) in full")
    .addOption(outputOption())
    .action((opts: { section?: string; reveal?: boolean; output: OutputFormat }) => {
      const config = loadConfig();
      const entries = config.entries.filter((e) => !opts.section || e.section === opts.section);
      if (entries.length === 0)
        throw new NotFoundError(
          `no section [${opts.section}]: sections are ${[...new Set(config.entries.map((e) => e.section))].join(", ")}`,
        );
      printRows(
        entries.map((e) => ({
          section: e.section,
          key: e.key,
          value: shown(e, Boolean(opts.reveal)),
          source: e.source,
        })),
        opts.output,
        ["section", "key", "value", "source"],
      );
    });
  group
    .command("get-value")
    .argument("<section>")
    .argument("<key>")
    .description("Print one option's effective value")
    .action((section: string, key: string) => {
      const entry = loadConfig().entries.find((e) => e.section === section && e.key === key);
      if (!entry) throw new NotFoundError(`no option [${section}] ${key}: see \`updraft config list\``);
      process.stdout.write(`${entry.value}\n`);
    });
}
