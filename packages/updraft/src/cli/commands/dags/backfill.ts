import type { Command } from "commander";
import { dagRunAccess } from "../../../operations/trigger-run.ts";
import { InvalidInputError } from "../../../core/errors.ts";
import { createLogger } from "../../../logging.ts";
import { backfillIntervals, createBackfillRuns } from "../../../operations/backfill.ts";
import { createTaskFlowPool, createTaskRunnerDeps } from "../../../scheduler/runtime.ts";
import { driveRun } from "../../../operations/test-run.ts";
import { jobStore } from "../../../storage/jobs.ts";
import { withContext } from "../../context.ts";
import { syncDags } from "../../dag-sync.ts";
import { outputOption, printRows, type OutputFormat } from "../../output.ts";
import { progressReporter } from "../../progress.ts";
import { DateTime } from "luxon";
import { dagStore } from "../../../storage/dags.ts";
import { parseConf, parseDate } from "./trigger.ts";

function parseDateIn(text: string, zone: string): Date {
  if (/[zZ]|[+-]\d\d:?\d\d$/.test(text)) return parseDate(text)!;
  const local = DateTime.fromISO(text, { zone });
  if (!local.isValid) return parseDate(text)!; // parseDate reports the error
  return local.toJSDate();
}

interface BackfillOpts {
  startDate: string;
  endDate: string;
  conf?: string;
  dryRun?: boolean;
  local?: boolean;
  output: OutputFormat;
}

export function register(dags: Command): void {
  dags
    .command("backfill")
    .argument("<dag_id>")
    .description("Create and run a run for every schedule interval in a date range (existing runs are kept)")
    .requiredOption("-s, --start-date <date>", "first logical date, ISO 8601")
    .requiredOption("-e, --end-date <date>", "last logical date, ISO 8601")
    .option("-c, --conf <json>", "conf for every run")
    .option("--dry-run", "only list the intervals")
    .option("--local", "run the backfill in this process even when a scheduler is running")
    .addOption(outputOption())
    .action((dagId: string, opts: BackfillOpts) =>
      withContext(async (ctx) => {
        await syncDags(ctx);
        const database = await ctx.database();
        // Dates without an offset are wall-clock dates in the DAG's timezone, as its schedule is.
        const zone =
          (await dagStore(database).get(dagId))?.timezone ?? ctx.config.values.core.default_timezone;
        const [start, end] = [parseDateIn(opts.startDate, zone), parseDateIn(opts.endDate, zone)];
        if (end < start)
          throw new InvalidInputError(`--end-date ${opts.endDate} is before --start-date ${opts.startDate}`);
        const infos = await backfillIntervals(database, dagId, start, end);
        if (opts.dryRun) {
          printRows(
            infos.map((i) => ({
              logical_date: i.logicalDate.toISOString(),
              data_interval_start: i.dataIntervalStart.toISOString(),
              data_interval_end: i.dataIntervalEnd.toISOString(),
            })),
            opts.output,
          );
          return;
        }
        const runs = await createBackfillRuns(database, dagId, infos, parseConf(opts.conf));
        process.stderr.write(
          `Backfilling ${dagId}: ${runs.length} run(s) from ${start.toISOString()} to ${end.toISOString()}\n`,
        );
        const report = progressReporter("Backfill runs finished");
        const live = await jobStore(database).list({ jobType: "scheduler", state: "running" });
        const schedulerAlive = live.some((j) => Date.parse(j.latest_heartbeat) > Date.now() - 60_000);
        const states = new Map<number, string>();
        if (schedulerAlive && !opts.local) {
          process.stderr.write(`A scheduler is running (job ${live[0]!.id}); waiting for it to run them.\n`);
          while ([...runs].some((r) => !["success", "failed"].includes(states.get(r.id) ?? ""))) {
            const rows = await database.db
              .selectFrom("dag_run")
              .select(["id", "state"])
              .where(
                "id",
                "in",
                runs.map((r) => r.id),
              )
              .execute();
            for (const row of rows) states.set(row.id, row.state);
            report([...states.values()].filter((s) => s === "success" || s === "failed").length, runs.length);
            await new Promise((r) => setTimeout(r, 1000));
          }
        } else {
          const log = createLogger("backfill", ctx.config.values.logging.level);
          const taskflow = createTaskFlowPool(ctx.config);
          const deps = createTaskRunnerDeps(
            { config: ctx.config, database, log, cipher: ctx.cipher(), dagRunAccess: dagRunAccess(database) },
            taskflow,
          );
          try {
            for (const [i, run] of runs.entries()) {
              states.set(
                run.id,
                run.state === "success"
                  ? "success"
                  : await driveRun(database, deps, run, {
                      log,
                      parallelism: ctx.config.values.core.parallelism,
                    }),
              );
              report(i + 1, runs.length, run.run_id);
            }
          } finally {
            await taskflow.close();
          }
        }
        printRows(
          runs.map((r) => ({ run_id: r.run_id, logical_date: r.logical_date, state: states.get(r.id) })),
          opts.output,
        );
        if ([...states.values()].some((s) => s !== "success")) process.exitCode = 1;
      }),
    );
}
