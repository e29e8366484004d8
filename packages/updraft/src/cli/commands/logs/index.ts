/** `updraft logs clean`. */
import type { Command } from "commander";
import { register as clean } from "./clean.ts";

export function register(program: Command): void {
  const group = program.command("logs").description("Manage task logs");
  clean(group);
}
