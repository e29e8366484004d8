import type { Command } from "commander";
import { dagRunAccess } from "../../../operations/trigger-run.ts";
import { createLogger } from "../../../logging.ts";
import { runOneTask } from "../../../operations/run-one.ts";
import { createTaskFlowPool, createTaskRunnerDeps } from "../../../scheduler/runtime.ts";
import { triggerDagRun } from "../../../operations/trigger-run.ts";
import { dagRunStore } from "../../../storage/dag-runs.ts";
import { runIdFor } from "../../../core/timetables/index.ts";
import { withContext, type CliContext } from "../../context.ts";
import { syncDags } from "../../dag-sync.ts";
import { parseDate } from "../dags/trigger.ts";

async function runHere(
  ctx: CliContext,
  key: { dagId: string; taskId: string; runId: string },
): Promise<void> {
  const database = await ctx.database();
  const log = createLogger("tasks", ctx.config.values.logging.level);
  const taskflow = createTaskFlowPool(ctx.config);
  const echo = (_ti: unknown, text: string) => {
    for (const line of text.split("\n").filter(Boolean)) process.stdout.write(`${line}\n`);
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
    const state = await runOneTask(database, deps, key);
    process.stdout.write(`${key.dagId}.${key.taskId} in run ${key.runId}: ${state}\n`);
    if (state !== "success" && state !== "skipped") process.exitCode = 1;
  } finally {
    await taskflow.close();
  }
}

export function register(tasks: Command): void {
  tasks
    .command("run")
    .argument("<dag_id>")
    .argument("<task_id>")
    .argument("<run_id>")
    .description(
      "Run one task instance of an existing run now, in this process, whatever its upstream tasks did",
    )
    .action((dagId: string, taskId: string, runId: string) =>
      withContext((ctx) => runHere(ctx, { dagId, taskId, runId })),
    );
  tasks
    .command("test")
    .argument("<dag_id>")
    .argument("<task_id>")
    .argument("[logical_date]", "ISO 8601 (default: now)")
    .description(
      "Run one task in a test run of its DAG (created if needed), printing its log; upstream tasks are not run",
    )
    .action((dagId: string, taskId: string, logicalDate: string | undefined) =>
      withContext(async (ctx) => {
        await syncDags(ctx);
        const database = await ctx.database();
        const date = parseDate(logicalDate) ?? new Date();
        const runId = runIdFor("manual", date);
        const existing = await dagRunStore(database).get(dagId, runId);
        if (!existing) await triggerDagRun(database, { dagId, logicalDate: date, triggeredBy: "test" });
        await runHere(ctx, { dagId, taskId, runId });
      }),
    );
}
