import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { hashPassword, randomPassword } from "../../api/auth/passwords.ts";
import type { Logger } from "../../logging.ts";
import type { Database } from "../../storage/database.ts";
import { userStore } from "../../storage/users.ts";
import { createLogger } from "../../logging.ts";
import { redactUrl } from "../../storage/database.ts";
import { migrateDatabase } from "../../storage/migrate.ts";
import { addDaemonOptions, daemonize, type DaemonOptions } from "../daemon.ts";
import { withContext } from "../context.ts";
import { runServices } from "../services.ts";
import { runTriggerer } from "../../triggerer/service.ts";
import { processDagFiles } from "../../dag-processing/processor.ts";
import { initDagsProject } from "../../operations/init-project.ts";

export function register(program: Command): void {
  addDaemonOptions(
    program
      .command("standalone")
      .description(
        "Run Updraft on one machine: migrate the database, create an admin user on first run, parse the DAGs, run the scheduler, the triggerer and the webserver",
      )
      .option("--once", "migrate and parse the DAG files once, then exit (for scripts and tests)"),
  ).action((opts: DaemonOptions & { once?: boolean }) =>
    withContext(async (ctx) => {
      if (daemonize("standalone", ctx.config, opts)) return;
      const log = createLogger("standalone", ctx.config.values.logging.level);
      log.info(
        { home: ctx.config.home, database: redactUrl(ctx.config.values.database.url) },
        "starting Updraft standalone",
      );
      const database = await ctx.database({ requireMigrated: false, waitWith: log });
      const applied = await migrateDatabase(database, (line) => log.info(line));
      log.info({ applied: applied.length }, "database ready");
      await ensureAdmin(database, ctx.config.home, log);
      ensureDagsProject(ctx.config.values.core.dags_folder, log);
      if (opts.once) {
        const s = await processDagFiles(ctx.config, database);
        log.info({ files: s.files, dags: s.dags, importErrors: s.importErrors }, "DAG files processed");
        return;
      }
      log.info(
        { dagsFolder: ctx.config.values.core.dags_folder },
        "running the DAG processor, the scheduler, the triggerer and the webserver; Ctrl+C to stop",
      );
      // The triggerer runs beside the others and stops after them (it hands its triggers back).
      const stopTriggerer = new AbortController();
      const triggerer = runTriggerer({
        config: ctx.config,
        database,
        cipher: ctx.cipher(),
        log: log.child({ service: "triggerer" }),
        stop: stopTriggerer.signal,
      }).catch((error: unknown) => log.error({ err: error }, "the triggerer failed; deferred tasks wait"));
      await runServices({
        config: ctx.config,
        database,
        cipher: ctx.cipher(),
        log,
        dagProcessor: true,
        webserver: {},
      });
      stopTriggerer.abort();
      await triggerer;
      log.info("stopped");
    }),
  );
}

/** First run: the DAGs folder becomes a DAGs project with an example DAG, as `updraft init` makes. */
function ensureDagsProject(dagsFolder: string, log: Logger): void {
  if (existsSync(dagsFolder)) return;
  const made = initDagsProject({ dir: dagsFolder });
  log.info(
    { dagsFolder: made.dir, files: made.files.length },
    "created a DAGs project (updraft init) with an example DAG",
  );
}

/**
 * First run: an "admin" user with a random password, printed once and kept in a file only its owner
 * can read (as Airflow's standalone does), so the UI can be opened straight away.
 */
async function ensureAdmin(database: Database, home: string, log: Logger): Promise<void> {
  const users = userStore(database);
  if ((await users.list()).length > 0) return;
  const password = randomPassword();
  await users.create({ username: "admin", role: "Admin", passwordHash: await hashPassword(password) });
  const file = join(home, "standalone_admin_password.txt");
  writeFileSync(file, `${password}\n`, { mode: 0o600 });
  log.info({ username: "admin", passwordFile: file }, "created the admin user");
  process.stderr.write(
    `\n  Updraft is starting. Log in as admin with password: ${password}\n  (kept in ${file})\n\n`,
  );
}
