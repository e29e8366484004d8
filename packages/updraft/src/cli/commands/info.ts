import { arch, platform, release } from "node:os";
import type { Command } from "commander";
import { loadConfig } from "../../config/load.ts";
import { redactUrl } from "../../storage/database.ts";
import { outputOption, printRecord, type OutputFormat } from "../output.ts";
import { VERSION } from "../../version.ts";

export function register(program: Command): void {
  program
    .command("info")
    .description("Show this installation: versions, paths, database")
    .addOption(outputOption())
    .action((opts: { output: OutputFormat }) => {
      const config = loadConfig();
      printRecord(
        {
          updraft_version: VERSION,
          node_version: process.version,
          platform: `${platform()} ${release()} ${arch()}`,
          updraft_home: config.home,
          config_file: config.file,
          dags_folder: config.values.core.dags_folder,
          load_examples: config.values.core.load_examples,
          database: redactUrl(config.values.database.url),
          base_log_folder: config.values.logging.base_log_folder,
          default_timezone: config.values.core.default_timezone,
        },
        opts.output,
      );
    });
}
