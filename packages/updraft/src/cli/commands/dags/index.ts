/** `updraft dags ...`. */
import type { Command } from "commander";
import { register as list } from "./list.ts";
import { register as show } from "./show.ts";
import { register as details } from "./details.ts";
import { register as listImportErrors } from "./list-import-errors.ts";
import { register as reserialize } from "./reserialize.ts";
import { register as trigger } from "./trigger.ts";
import { register as pause } from "./pause.ts";
import { register as listRuns } from "./list-runs.ts";
import { register as listVersions } from "./list-versions.ts";
import { register as state } from "./state.ts";
import { register as nextExecution } from "./next-execution.ts";
import { register as testDag } from "./test.ts";
import { register as backfill } from "./backfill.ts";
import { register as check } from "./check.ts";

export function register(program: Command): void {
  const group = program.command("dags").description("Inspect, trigger, test and pause DAGs");
  for (const add of [
    list,
    show,
    details,
    listImportErrors,
    reserialize,
    trigger,
    pause,
    listRuns,
    listVersions,
    state,
    nextExecution,
    testDag,
    backfill,
    check,
  ])
    add(group);
}
