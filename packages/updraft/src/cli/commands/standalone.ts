import type { Command } from "commander";
import { createLogger } from "../../logging.ts";
import { redactUrl } from "../../storage/database.ts";
import { migrateDatabase } from "../../storage/migrate.ts";
import { addDaemonOptions, daemonize, type DaemonOptions } from "../daemon.ts";
import { withContext } from "../context.ts";
import { runServices } from "../services.ts";
import { processDagFiles } from "../../dag-processing/processor.ts";

export function register(program: Command): void {
  addDaemonOptions(
    program
      .command("standalone")
      .description(
        "Run Updraft on one machine: migrate the database, parse the DAGs and run the scheduler (the webserver joins when it lands)",
      )
      .option("--once", "migrate and parse the DAG files once, then exit (for scripts and tests)"),
  ).action((opts: DaemonOptions & { once?: boolean }) =>
    withContext(async (ctx) => {
      if (daemonize("standalone", ctx.config.home, opts)) return;
      const log = createLogger("standalone", ctx.config.values.logging.level);
      log.info(
        { home: ctx.config.home, database: redactUrl(ctx.config.values.database.url) },
        "starting Updraft standalone",
      );
      const database = await ctx.database({ requireMigrated: false });
      const applied = await migrateDatabase(database, (line) => log.info(line));
      log.info({ applied: applied.length }, "database ready");
      if (opts.once) {
        const s = await processDagFiles(ctx.config, database);
        log.info({ files: s.files, dags: s.dags, importErrors: s.importErrors }, "DAG files processed");
        return;
      }
      log.info(
        { dagsFolder: ctx.config.values.core.dags_folder },
        "running the DAG processor and the scheduler; Ctrl+C to stop",
      );
      await runServices({ config: ctx.config, database, cipher: ctx.cipher(), log, dagProcessor: true });
      log.info("stopped");
    }),
  );
}
