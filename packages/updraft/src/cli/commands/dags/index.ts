/** `updraft dags ...`: reading DAGs (this issue); running them comes with the scheduler. */
import type { Command } from "commander";
import { register as list } from "./list.ts";
import { register as show } from "./show.ts";
import { register as details } from "./details.ts";
import { register as listImportErrors } from "./list-import-errors.ts";
import { register as reserialize } from "./reserialize.ts";

export function register(program: Command): void {
  const group = program.command("dags").description("Inspect DAGs");
  for (const add of [list, show, details, listImportErrors, reserialize]) add(group);
}
