import type { Command } from "commander";
import { dagRunAccess } from "../../../operations/trigger-run.ts";
import { createLogger } from "../../../logging.ts";
import { createTaskFlowPool, createTaskRunnerDeps } from "../../../scheduler/runtime.ts";
import { driveRun, startTestRun } from "../../../operations/test-run.ts";
import { withContext } from "../../context.ts";
import { syncDags } from "../../dag-sync.ts";
import { parseConf, parseDate } from "./trigger.ts";

export function register(dags: Command): void {
  dags
    .command("test")
    .argument("<dag_id>")
    .argument("[logical_date]", "ISO 8601 (default: now)")
    .description(
      "Run a whole DAG once in this process, without a scheduler, printing each task's log; exit 0 when the run succeeds",
    )
    .option("-c, --conf <json>", "the run's conf, a JSON object")
    .action((dagId: string, logicalDate: string | undefined, opts: { conf?: string }) =>
      withContext(async (ctx) => {
        await syncDags(ctx);
        const database = await ctx.database();
        const log = createLogger("dags-test", ctx.config.values.logging.level);
        const date = parseDate(logicalDate) ?? new Date();
        const run = await startTestRun(database, {
          dagId,
          conf: parseConf(opts.conf),
          logicalDate: date,
        });
        process.stderr.write(`Testing ${dagId}: run ${run.run_id}\n`);
        const taskflow = createTaskFlowPool(ctx.config);
        // Every task's log, masked as in its file, also on stdout.
        const echo = (ti: { task_id: string }, text: string) => {
          for (const line of text.split("\n").filter(Boolean))
            process.stdout.write(`[${ti.task_id}] ${line}\n`);
        };
        const deps = createTaskRunnerDeps(
          {
            config: ctx.config,
            database,
            log,
            cipher: ctx.cipher(),
            logEcho: echo,
            dagRunAccess: dagRunAccess(database),
          },
          taskflow,
        );
        try {
          const state = await driveRun(database, deps, run, {
            log,
            parallelism: ctx.config.values.core.parallelism,
          });
          process.stdout.write(`Run ${run.run_id} of ${dagId}: ${state}\n`);
          if (state !== "success") process.exitCode = 1;
        } finally {
          await taskflow.close();
        }
      }),
    );
}
