import type { Command } from "commander";
import { InvalidInputError } from "../../../core/errors.ts";
import {
  CLEAN_TABLE_NAMES,
  DEFAULT_BATCH_SIZE,
  cleanMetadata,
  parseTimestamp,
  planClean,
  type CleanPlan,
} from "../../../operations/db-clean.ts";
import { redactUrl } from "../../../storage/database.ts";
import { withContext, type CliContext } from "../../context.ts";
import { outputOption, printRecord, type OutputFormat } from "../../output.ts";
import { progressReporter } from "../../progress.ts";
import { canAsk, confirm } from "../../prompt.ts";

interface CleanOpts {
  cleanBeforeTimestamp: string;
  tables?: string;
  dryRun?: boolean;
  skipArchive?: boolean;
  yes?: boolean;
  batchSize: string;
  vacuum?: boolean;
  output: OutputFormat;
}

export function register(db: Command): void {
  db.command("clean")
    .description(
      "Delete finished runs (with their task instances, tries and XComs), audit log entries, asset events and finished jobs older than a timestamp, archived first; each DAG's latest runs stay (Airflow's `db clean`)",
    )
    .requiredOption(
      "--clean-before-timestamp <timestamp>",
      "delete what is older than this (ISO 8601, e.g. 2025-01-31 or 2025-01-31T06:00:00+02:00; no zone means UTC)",
    )
    .option(
      "-t, --tables <tables>",
      `comma-separated tables to clean (default: all): ${CLEAN_TABLE_NAMES.join(", ")}`,
    )
    .option("--dry-run", "only count what would be deleted; change nothing")
    .option("--skip-archive", "do not copy the rows to _updraft_archive_<table> tables before deleting them")
    .option("--batch-size <n>", "runs (or rows) deleted per transaction", String(DEFAULT_BATCH_SIZE))
    .option(
      "--vacuum",
      "give the space back afterwards (SQLite VACUUM, PostgreSQL VACUUM ANALYZE, MySQL OPTIMIZE TABLE)",
    )
    .option("-y, --yes", "do not ask for confirmation")
    .addOption(outputOption())
    .action((opts: CleanOpts) => withContext(async (ctx) => clean(ctx, opts)));
}

async function clean(ctx: CliContext, opts: CleanOpts): Promise<void> {
  const plan = planFrom(opts);
  const where = redactUrl(ctx.config.values.database.url);
  if (!plan.dryRun && !opts.yes) {
    if (!canAsk())
      throw new InvalidInputError(
        "db clean deletes rows and there is no terminal to confirm on: pass -y (--yes) to go ahead, or --dry-run to count what would go",
      );
    if (!(await confirm(question(plan, where)))) {
      process.stderr.write("Cancelled; nothing was changed.\n");
      process.exitCode = 1;
      return;
    }
  }
  const database = await ctx.database();
  const result = await cleanMetadata(database, plan, { onProgress: progressByTable(plan.dryRun) });
  printRecord(result.counts, opts.output);
  if (plan.dryRun) process.stderr.write("Dry run: nothing was deleted (rows that would be, per table).\n");
  else if (result.archives.length > 0)
    process.stderr.write(
      `Deleted rows were archived to ${result.archives.join(", ")} (drop them with \`updraft db drop-archived\`).\n`,
    );
  if (plan.vacuum && !plan.dryRun)
    process.stderr.write(`The space of deleted rows was given back (--vacuum).\n`);
}

/** A progress line per table on stderr; runs are counted as runs (their rows go with them). */
function progressByTable(dryRun: boolean) {
  const reporters = new Map<string, ReturnType<typeof progressReporter>>();
  return (table: string, done: number, total: number) => {
    const label = `${dryRun ? "Counting " : ""}${table === "dag_run" ? "runs" : table}`;
    if (!reporters.has(label)) reporters.set(label, progressReporter(label));
    reporters.get(label)?.(done, total);
  };
}

function planFrom(opts: CleanOpts): CleanPlan {
  const batchSize = Number(opts.batchSize);
  if (!/^\d+$/.test(opts.batchSize.trim()))
    throw new InvalidInputError(`--batch-size "${opts.batchSize}" is not a whole number`);
  return planClean({
    before: parseTimestamp(opts.cleanBeforeTimestamp, "--clean-before-timestamp"),
    tables: opts.tables
      ?.split(",")
      .map((t) => t.trim())
      .filter(Boolean),
    archive: !opts.skipArchive,
    dryRun: opts.dryRun,
    batchSize,
    vacuum: opts.vacuum,
  });
}

function question(plan: CleanPlan, where: string): string {
  const archived = plan.archive ? "copied to _updraft_archive_<table> tables, then " : "";
  const kept = plan.tables.some((t) => t !== "audit_log" && t !== "job")
    ? " (unfinished runs and each DAG's latest runs stay)"
    : "";
  return `Rows of ${plan.tables.join(", ")} older than ${plan.before} in ${where} will be ${archived}deleted${kept}. Continue?`;
}
