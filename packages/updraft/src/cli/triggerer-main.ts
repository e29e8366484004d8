/**
 * `updraft triggerer` on its own: the command line with only that command, so the process loads the
 * triggerer and the database drivers, not the webserver and every other command (about 30 MB less
 * resident: one triggerer holds 10,000 triggers in under 100 MB). bin/updraft.js comes here for it;
 * `updraft --help` and the docs list it from main.ts as every other command.
 */
import { Command, CommanderError } from "commander";
import { VERSION } from "../version.ts";
import { register as triggerer } from "./commands/triggerer.ts";
import { exitCodeFor, reportError } from "./errors.ts";

export async function main(argv: string[] = process.argv): Promise<void> {
  const program = new Command("updraft").version(VERSION, "-V, --version").exitOverride();
  triggerer(program);
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode;
      return;
    }
    reportError(error);
    process.exitCode = exitCodeFor(error);
  }
}
