import type { Command } from "commander";
import { VERSION } from "../../version.ts";

export function register(program: Command): void {
  program
    .command("version")
    .description("Print Updraft's version")
    .action(() => {
      process.stdout.write(`${VERSION}\n`);
    });
}
