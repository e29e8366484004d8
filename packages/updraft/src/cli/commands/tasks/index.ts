/** `updraft tasks ...`. */
import type { Command } from "commander";
import { register as list } from "./list.ts";
import { register as state } from "./state.ts";
import { register as statesForDagRun } from "./states-for-dag-run.ts";
import { register as clear } from "./clear.ts";
import { register as logs } from "./logs.ts";
import { register as run } from "./run.ts";

export function register(program: Command): void {
  const group = program.command("tasks").description("Inspect and run tasks");
  for (const add of [list, state, statesForDagRun, clear, logs, run]) add(group);
}
