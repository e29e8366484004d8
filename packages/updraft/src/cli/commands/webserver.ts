import type { Command } from "commander";
import { createLogger } from "../../logging.ts";
import { addDaemonOptions, daemonize, type DaemonOptions } from "../daemon.ts";
import { withContext } from "../context.ts";
import { runServices } from "../services.ts";

export function register(program: Command): void {
  addDaemonOptions(
    program
      .command("webserver")
      .alias("api-server")
      .description(
        "Run the webserver: the REST API at /api/v2 (docs at /api/v2/docs); stateless, run as many as you like",
      )
      .option("-p, --port <port>", "port to listen on (default: [api] port)", (v) => Number(v))
      .option("-H, --hostname <host>", "address to listen on (default: [api] host)"),
  ).action((opts: DaemonOptions & { port?: number; hostname?: string }) =>
    withContext(async (ctx) => {
      if (daemonize("webserver", ctx.config, opts)) return;
      const log = createLogger("webserver", ctx.config.values.logging.level);
      await runServices({
        config: ctx.config,
        database: await ctx.database({ waitWith: log }),
        cipher: ctx.cipher(),
        log,
        dagProcessor: false,
        scheduler: false,
        webserver: { port: opts.port, host: opts.hostname },
      });
    }),
  );
}
