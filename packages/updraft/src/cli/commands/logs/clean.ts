import type { Command } from "commander";
import { loadConfig } from "../../../config/load.ts";
import { cleanLogs } from "../../../logs/files.ts";
import { outputOption, printRecord, type OutputFormat } from "../../output.ts";
import { progressReporter } from "../../progress.ts";

export function register(group: Command): void {
  group
    .command("clean")
    .description("Delete task logs past [logging] retention_days, then the oldest past max_total_bytes")
    .option("--retention-days <n>", "override [logging] retention_days")
    .option("--max-total-bytes <n>", "override [logging] max_total_bytes (0 = no cap)")
    .option("--dry-run", "only report what would be deleted")
    .addOption(outputOption())
    .action(
      (opts: { retentionDays?: string; maxTotalBytes?: string; dryRun?: boolean; output: OutputFormat }) => {
        const logging = loadConfig().values.logging;
        const report = progressReporter(opts.dryRun ? "Checking logs" : "Cleaning logs");
        const result = cleanLogs(
          logging.base_log_folder,
          {
            retentionDays: opts.retentionDays ? Number(opts.retentionDays) : logging.retention_days,
            maxTotalBytes: opts.maxTotalBytes ? Number(opts.maxTotalBytes) : logging.max_total_bytes,
            dryRun: opts.dryRun,
          },
          (done, total) => {
            if (done % 1000 === 0 || done === total) report(done, total);
          },
        );
        printRecord(
          { ...result, dryRun: Boolean(opts.dryRun), folder: logging.base_log_folder },
          opts.output,
        );
      },
    );
}
