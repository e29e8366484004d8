import type { Command } from "commander";
import { createLogger } from "../../logging.ts";
import { runTriggerer } from "../../triggerer/service.ts";
import { addDaemonOptions, daemonize, type DaemonOptions } from "../daemon.ts";
import { withContext } from "../context.ts";
import { logDatabaseHealth, stopSignal } from "../service-signals.ts";

export function register(program: Command): void {
  addDaemonOptions(
    program
      .command("triggerer")
      .description(
        "Run a triggerer: runs the triggers deferred tasks wait on, thousands at once (several may run at once)",
      ),
  ).action((opts: DaemonOptions) =>
    withContext(async (ctx) => {
      if (daemonize("triggerer", ctx.config, opts)) return;
      const log = createLogger("triggerer", ctx.config.values.logging.level);
      const stop = stopSignal(log, "stopping: triggers are handed back to other triggerers");
      const database = await ctx.database({ waitWith: log });
      const unwatch = logDatabaseHealth(database, log);
      try {
        await runTriggerer({ config: ctx.config, database, cipher: ctx.cipher(), log, stop });
      } finally {
        unwatch();
      }
    }),
  );
}
