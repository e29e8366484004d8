import type { Command } from "commander";
import { InvalidInputError } from "../../../core/errors.ts";
import { triggerDagRun } from "../../../operations/trigger-run.ts";
import { dagStore } from "../../../storage/dags.ts";
import { withContext } from "../../context.ts";
import { outputOption, printRows, type OutputFormat } from "../../output.ts";

export function register(dags: Command): void {
  dags
    .command("trigger")
    .argument("<dag_id>")
    .description("Create a manual run of a DAG (a running scheduler picks it up)")
    .option("-c, --conf <json>", "the run's conf, a JSON object checked against the DAG's params")
    .option("-r, --run-id <run_id>", "the run's id (default: manual__<logical date>)")
    .option("-l, --logical-date <date>", "the run's logical date, ISO 8601 (default: now)")
    .option("--note <text>", "a note on the run")
    .addOption(outputOption())
    .action(
      (
        dagId: string,
        opts: { conf?: string; runId?: string; logicalDate?: string; note?: string; output: OutputFormat },
      ) =>
        withContext(async (ctx) => {
          const run = await triggerDagRun(await ctx.database(), {
            dagId,
            conf: parseConf(opts.conf),
            runId: opts.runId,
            allowedRunIdPattern: ctx.config.values.scheduler.allowed_run_id_pattern,
            logicalDate: parseDate(opts.logicalDate),
            note: opts.note,
          });
          const dag = await dagStore(await ctx.database()).get(dagId);
          if (dag?.is_paused) {
            process.stderr.write(
              `dag ${dagId} is paused: the run waits until you unpause it (updraft dags unpause ${dagId})\n`,
            );
          }
          printRows(
            [
              {
                dag_id: run.dag_id,
                run_id: run.run_id,
                state: run.state,
                logical_date: run.logical_date,
                conf: run.conf,
              },
            ],
            opts.output,
          );
        }),
    );
}

export function parseConf(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  let conf: unknown;
  try {
    conf = JSON.parse(text);
  } catch (error) {
    throw new InvalidInputError(
      `--conf is not JSON: ${(error as Error).message}; write e.g. --conf '{"n": 3}'`,
    );
  }
  if (!conf || typeof conf !== "object" || Array.isArray(conf))
    throw new InvalidInputError(`--conf must be a JSON object, e.g. '{"n": 3}'`);
  return conf as Record<string, unknown>;
}

export function parseDate(text: string | undefined): Date | undefined {
  if (text === undefined) return undefined;
  const date = new Date(
    /[zZ]|[+-]\d\d:?\d\d$/.test(text) || /^\d{4}-\d\d-\d\d$/.test(text) ? text : `${text}Z`,
  );
  if (Number.isNaN(date.getTime()))
    throw new InvalidInputError(
      `"${text}" is not a date: write ISO 8601, e.g. 2025-01-01 or 2025-01-01T06:00:00+00:00`,
    );
  return date;
}
