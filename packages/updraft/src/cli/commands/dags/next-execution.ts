import type { Command } from "commander";
import { nextDagRunInfo, timetableDagOf } from "../../../core/timetables/index.ts";
import { NotFoundError } from "../../../core/errors.ts";
import { dagRunStore } from "../../../storage/dag-runs.ts";
import { dagStore } from "../../../storage/dags.ts";
import { withContext } from "../../context.ts";
import { outputOption, printRows, type OutputFormat } from "../../output.ts";

export function register(dags: Command): void {
  dags
    .command("next-execution")
    .argument("<dag_id>")
    .description("The logical dates of a DAG's next scheduled runs")
    .option("-n, --num-executions <n>", "how many", "1")
    .addOption(outputOption())
    .action((dagId: string, opts: { numExecutions: string; output: OutputFormat }) =>
      withContext(async (ctx) => {
        const database = await ctx.database();
        const dag = await dagStore(database).getSerialized(dagId);
        if (!dag) throw new NotFoundError(`dag "${dagId}" not found: see \`updraft dags list\``);
        const last = await dagRunStore(database).lastScheduled(dagId);
        let previous =
          last?.data_interval_start && last.data_interval_end
            ? { start: new Date(last.data_interval_start), end: new Date(last.data_interval_end) }
            : null;
        const rows = [];
        for (let i = 0; i < Number(opts.numExecutions); i++) {
          const info = nextDagRunInfo(timetableDagOf(dag), {
            lastAutomatedDataInterval: previous,
            now: new Date(),
          });
          if (!info) break;
          rows.push({
            logical_date: info.logicalDate.toISOString(),
            data_interval_start: info.dataIntervalStart.toISOString(),
            data_interval_end: info.dataIntervalEnd.toISOString(),
            run_after: info.runAfter.toISOString(),
          });
          previous = { start: info.dataIntervalStart, end: info.dataIntervalEnd };
        }
        if (rows.length === 0)
          process.stderr.write(
            `dag ${dagId} has no further scheduled runs (manual only, @once done, or past its endDate)\n`,
          );
        printRows(rows, opts.output);
      }),
    );
}
