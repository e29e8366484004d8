import type { Command } from "commander";
import { processDagFiles } from "../../dag-processing/processor.ts";
import { createLogger } from "../../logging.ts";
import { redactUrl } from "../../storage/database.ts";
import { migrateDatabase } from "../../storage/migrate.ts";
import { withContext } from "../context.ts";

export function register(program: Command): void {
  program
    .command("standalone")
    .description(
      "Run Updraft on one machine: migrate the database, then keep the DAGs in sync (the scheduler and webserver join as they land)",
    )
    .option("--once", "do one pass and exit (for scripts and tests)")
    .action((opts: { once?: boolean }) =>
      withContext(async (ctx) => {
        const log = createLogger("standalone", ctx.config.values.logging.level);
        log.info(
          { home: ctx.config.home, database: redactUrl(ctx.config.values.database.url) },
          "starting Updraft standalone",
        );
        const database = await ctx.database({ requireMigrated: false });
        const applied = await migrateDatabase(database, (line) => log.info(line));
        log.info({ applied: applied.length }, "database ready");
        const pass = async () => {
          const s = await processDagFiles(ctx.config, database);
          log.info(
            {
              files: s.files,
              parsed: s.parsed,
              dags: s.dags,
              importErrors: s.importErrors,
              ms: Math.round(s.durationMs),
            },
            "DAG files processed",
          );
        };
        await pass();
        if (opts.once) return;
        log.info(
          {
            dagsFolder: ctx.config.values.core.dags_folder,
            everySeconds: ctx.config.values.dag_processor.refresh_interval,
          },
          "watching the DAGs folder; Ctrl+C to stop",
        );
        await runUntilSignal(pass, ctx.config.values.dag_processor.refresh_interval * 1000, (error) =>
          log.error({ err: error }, "DAG processing pass failed; will retry"),
        );
        log.info("stopped");
      }),
    );
}

/** Runs `pass` every `intervalMs` until SIGINT or SIGTERM; a failed pass is reported, not fatal. */
async function runUntilSignal(
  pass: () => Promise<void>,
  intervalMs: number,
  onError: (error: unknown) => void,
): Promise<void> {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  while (!controller.signal.aborted) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, intervalMs);
      controller.signal.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
    });
    if (controller.signal.aborted) break;
    await pass().catch(onError);
  }
}
