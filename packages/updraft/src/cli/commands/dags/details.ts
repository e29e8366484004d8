import type { Command } from "commander";
import { NotFoundError } from "../../../core/errors.ts";
import { describeSchedule } from "../../../core/schedule.ts";
import { describeTimetable } from "../../../core/timetables/index.ts";
import { dagStore } from "../../../storage/dags.ts";
import { withContext } from "../../context.ts";
import { syncDags } from "../../dag-sync.ts";
import { outputOption, printRecord, type OutputFormat } from "../../output.ts";

export function register(dags: Command): void {
  dags
    .command("details")
    .argument("<dag_id>")
    .description("Show a DAG's settings and state")
    .addOption(outputOption())
    .option("--no-parse", "show what the database holds without looking at the files")
    .action((dagId: string, opts: { output: OutputFormat; parse: boolean }) =>
      withContext(async (ctx) => {
        if (opts.parse) await syncDags(ctx);
        const store = dagStore(await ctx.database());
        const [row, dag] = await Promise.all([store.get(dagId), store.getSerialized(dagId)]);
        if (!row || !dag) throw new NotFoundError(`dag "${dagId}" not found: see \`updraft dags list\``);
        printRecord(
          {
            dag_id: dag.dagId,
            description: dag.description,
            fileloc: row.fileloc,
            is_paused: Boolean(row.is_paused),
            is_active: Boolean(row.is_active),
            has_import_errors: Boolean(row.has_import_errors),
            schedule: describeSchedule(dag.schedule),
            schedule_description: describeTimetable(dag),
            timezone: dag.timezone,
            start_date: dag.startDate,
            end_date: dag.endDate,
            catchup: dag.catchup,
            max_active_runs: dag.maxActiveRuns,
            max_active_tasks: dag.maxActiveTasks,
            dagrun_timeout: dag.dagrunTimeout,
            owners: row.owners,
            tags: dag.tags,
            params: dag.params,
            tasks: dag.tasks.length,
            last_parsed_time: row.last_parsed_time,
            next_dagrun: row.next_dagrun,
            dag_hash: row.dag_hash,
            doc_md: dag.docMd,
          },
          opts.output,
        );
      }),
    );
}
