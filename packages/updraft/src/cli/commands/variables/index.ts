/** `updraft variables get|set|list|delete|import|export`. */
import type { Command } from "commander";
import { register as get } from "./get.ts";
import { register as set } from "./set.ts";
import { register as list } from "./list.ts";
import { register as del } from "./delete.ts";
import { register as importFile } from "./import.ts";
import { register as exportFile } from "./export.ts";

export function register(program: Command): void {
  const group = program.command("variables").description("Manage variables: settings your DAGs read");
  for (const add of [get, set, list, del, importFile, exportFile]) add(group);
}
