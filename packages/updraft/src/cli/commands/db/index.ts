/** `updraft db migrate|reset|check|clean|drop-archived`. */
import type { Command } from "commander";
import { register as migrate } from "./migrate.ts";
import { register as reset } from "./reset.ts";
import { register as check } from "./check.ts";
import { register as clean } from "./clean.ts";
import { register as dropArchived } from "./drop-archived.ts";

export function register(program: Command): void {
  const group = program.command("db").description("Manage the metadata database");
  for (const add of [migrate, reset, check, clean, dropArchived]) add(group);
}
