import type { Command } from "commander";
import { createLogger } from "../../logging.ts";
import { addDaemonOptions, daemonize, type DaemonOptions } from "../daemon.ts";
import { withContext } from "../context.ts";
import { runServices } from "../services.ts";

export function register(program: Command): void {
  addDaemonOptions(
    program
      .command("scheduler")
      .description(
        "Run a scheduler: creates due runs, starts tasks, records results (several may run at once)",
      )
      .option("--no-dag-processor", "do not parse DAG files here (another process does)"),
  ).action((opts: DaemonOptions & { dagProcessor: boolean }) =>
    withContext(async (ctx) => {
      if (daemonize("scheduler", ctx.config, opts)) return;
      const log = createLogger("scheduler", ctx.config.values.logging.level);
      await runServices({
        config: ctx.config,
        database: await ctx.database({ waitWith: log }),
        cipher: ctx.cipher(),
        log,
        dagProcessor: opts.dagProcessor,
      });
    }),
  );
}
