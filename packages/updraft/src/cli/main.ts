/**
 * The `updraft` command line. Each command lives in its own file under commands/; this file only
 * assembles them and turns errors into messages on stderr and exit codes.
 */
import { Command, CommanderError } from "commander";
import { exitCodeFor, reportError } from "./errors.ts";
import { VERSION } from "../version.ts";
import { register as assets } from "./commands/assets/index.ts";
import { register as config } from "./commands/config/index.ts";
import { register as connections } from "./commands/connections/index.ts";
import { register as dags } from "./commands/dags/index.ts";
import { register as db } from "./commands/db/index.ts";
import { registerTopLevelAlias as initdb } from "./commands/db/migrate.ts";
import { register as info } from "./commands/info.ts";
import { register as init } from "./commands/init.ts";
import { register as pools } from "./commands/pools/index.ts";
import { register as providers } from "./commands/providers/index.ts";
import { register as standalone } from "./commands/standalone.ts";
import { register as scheduler } from "./commands/scheduler.ts";
import { register as triggerer } from "./commands/triggerer.ts";
import { register as tasks } from "./commands/tasks/index.ts";
import { register as logs } from "./commands/logs/index.ts";
import { register as variables } from "./commands/variables/index.ts";
import { register as users } from "./commands/users/index.ts";
import { register as webserver } from "./commands/webserver.ts";
import { register as worker } from "./commands/worker.ts";
import { register as version } from "./commands/version.ts";

export function buildProgram(): Command {
  const program = new Command("updraft")
    .description("Updraft: workflows as TypeScript DAGs, scheduled and run for you")
    .version(VERSION, "-V, --version")
    .showHelpAfterError("(add --help for usage)")
    .exitOverride();
  for (const add of [
    version,
    info,
    init,
    config,
    db,
    initdb,
    dags,
    tasks,
    variables,
    connections,
    pools,
    providers,
    assets,
    logs,
    scheduler,
    triggerer,
    webserver,
    worker,
    users,
    standalone,
  ])
    add(program);
  return program;
}

export async function main(argv: string[] = process.argv): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode;
      return;
    }
    reportError(error);
    process.exitCode = exitCodeFor(error);
  }
}

if (import.meta.main) await main();
