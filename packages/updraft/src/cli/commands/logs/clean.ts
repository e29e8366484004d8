import type { Command } from "commander";
import { relative } from "node:path";
import { UpdraftError } from "../../../core/errors.ts";
import type { CleanResult } from "../../../logs/folder.ts";
import { openLogFolder } from "../../../operations/clean-logs.ts";
import { withContext } from "../../context.ts";
import { outputOption, printRecord, printRows, type OutputFormat } from "../../output.ts";

interface Options {
  retentionDays?: string;
  maxTotalBytes?: string;
  dryRun?: boolean;
  output: OutputFormat;
}

export function register(group: Command): void {
  group
    .command("clean")
    .description(
      "Delete task logs past [logging] retention_days, then the oldest until the folder's disk use is under max_total_bytes; logs of running tries and services' own logs are kept",
    )
    .option("--retention-days <n>", "override [logging] retention_days (0: every finished log)")
    .option("--max-total-bytes <n>", "override [logging] max_total_bytes (0 = no cap)")
    .option("--dry-run", "list what would be deleted, and delete nothing")
    .addOption(outputOption())
    .action((opts: Options) =>
      withContext(async (ctx) => {
        const logging = ctx.config.values.logging;
        // Which tries are running is the database's to say; without it nothing is deleted.
        const database = await ctx.database().catch((error: unknown) => {
          process.stderr.write(
            `Warning: ${(error as Error).message}; logs of running tries cannot be told apart, so nothing is deleted\n`,
          );
          return undefined;
        });
        const folder = openLogFolder(ctx.config, database);
        process.stderr.write(`Counting ${logging.base_log_folder}...\n`);
        const result = await folder.clean({
          retentionDays: count(opts.retentionDays, "--retention-days") ?? logging.retention_days,
          maxTotalBytes: count(opts.maxTotalBytes, "--max-total-bytes") ?? logging.max_total_bytes,
          dryRun: opts.dryRun,
        });
        print(result, logging.base_log_folder, opts);
      }),
    );
}

function count(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new UpdraftError("INVALID_INPUT", `${flag} must be a whole number, 0 or more (got "${value}")`);
  return n;
}

function print(result: CleanResult, base: string, opts: Options): void {
  const summary = {
    folder: base,
    dryRun: Boolean(opts.dryRun),
    filesDeleted: result.filesDeleted,
    bytesFreed: result.bytesFreed,
    filesKept: result.filesKept,
    filesOfRunningTries: result.filesLive,
    diskBefore: result.diskBefore,
    diskAfter: result.diskAfter,
  };
  if (opts.output === "json" || opts.output === "yaml") {
    printRecord({ ...summary, deleted: result.deleted }, opts.output);
    return;
  }
  if (opts.dryRun && result.deleted.length > 0) {
    process.stdout.write("Would delete:\n");
    printRows(
      result.deleted.map((d) => ({ file: relative(base, d.path), bytes: d.bytes, reason: d.reason })),
      opts.output,
      ["file", "bytes", "reason"],
    );
  }
  printRecord(summary, opts.output);
}
