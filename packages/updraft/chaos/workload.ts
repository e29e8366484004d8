/**
 * The chaos test's workload: the DAG file and the bash task script the harness writes into the temp
 * DAGs folder, and the caps they declare (the measurement checks them). Every task, bash or
 * TypeScript, appends one short line per event to a shared markers file (O_APPEND, so lines from
 * many processes never interleave):
 *
 *   start <dag> <run> <task> <try> <pid> <ms> <owner>
 *   tick  ... every ~100 ms while it runs
 *   end   ... when its work ran to its end (success follows)
 *   fail  ... when it ends by a planned failure (its first try; a retry follows)
 *
 * <owner> is the CHAOS_OWNER of the scheduler incarnation that started it (inherited through the
 * environment): the measurement knows which tries a kill orphaned.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";

export interface Caps {
  parallelism: number;
  pool: { name: string; slots: number };
  /** maxActiveTasks by DAG id. */
  maxActiveTasks: Record<string, number>;
  /** The DAG whose maxActiveRuns is 1. */
  serialDag: string;
}

export const MAIN_DAG = "chaos_main";
export const SERIAL_DAG = "chaos_serial";

export const CAPS: Caps = {
  parallelism: 12,
  pool: { name: "chaos_pool", slots: 3 },
  maxActiveTasks: { [MAIN_DAG]: 10, [SERIAL_DAG]: 16 },
  serialDag: SERIAL_DAG,
};

/** Tasks per run of each DAG (empty tasks write no markers and are not counted here). */
export const SHAPE = { fanOut: 100, chains: 6, chainLength: 12, pooled: 30, fanIn: 90, serialFan: 4 };

/** Writes the task script and the DAG file; returns the DAG file's path. */
export function writeWorkload(dagsFolder: string, home: string, markers: string): string {
  const script = join(home, "chaos-task.sh");
  writeFileSync(script, bashScript(), { mode: 0o755 });
  const file = join(dagsFolder, "chaos.ts");
  writeFileSync(file, dagFile(script, markers));
  return file;
}

/**
 * args: <ms> <fail-first 0|1> <markers file>. Time from $EPOCHREALTIME and sleeps from `read -t` on
 * a pipe nobody writes to: no process is forked per tick.
 */
function bashScript(): string {
  return `#!/usr/bin/env bash
ms=$1; fail_first=$2; M=$3
id="$UPDRAFT_CTX_DAG_ID $UPDRAFT_CTX_DAG_RUN_ID $UPDRAFT_CTX_TASK_ID $UPDRAFT_CTX_TRY_NUMBER $$"
owner=\${UPDRAFT_VAR_CHAOS_OWNER:-\${CHAOS_OWNER:--}}
clock() { local t=\${EPOCHREALTIME/./}; now=\${t:0:-3}; }
clock; echo "start $id $now $owner" >> "$M"
until=$((now + ms))
exec 9<> <(:)
while clock; [ "$now" -lt "$until" ]; do
  read -r -t 0.1 -u 9 _ || true
  clock; echo "tick $id $now $owner" >> "$M"
done
clock
if [ "$fail_first" = 1 ] && [ "$UPDRAFT_CTX_TRY_NUMBER" = 1 ]; then
  echo "fail $id $now $owner" >> "$M"; exit 1
fi
echo "end $id $now $owner" >> "$M"
`;
}

function dagFile(script: string, markers: string): string {
  const s = SHAPE;
  return `// Written by the chaos harness (packages/updraft/chaos/workload.ts): regenerated on every run.
import { appendFileSync } from "node:fs";
import { bash, dag, empty, getCurrentContext, task } from "updraft";

const MARKERS = ${JSON.stringify(markers)};
const SCRIPT = ${JSON.stringify(script)};

interface Ctx { run_id: string; ti: { dag_id: string; task_id: string; try_number: number } }

async function work(ms: number, failFirst: number): Promise<number> {
  const c = getCurrentContext<Ctx>();
  const id = c.ti.dag_id + " " + c.run_id + " " + c.ti.task_id + " " + c.ti.try_number + " " + process.pid;
  const owner = process.env.UPDRAFT_VAR_CHAOS_OWNER ?? process.env.CHAOS_OWNER ?? "-";
  const mark = (what: string) => appendFileSync(MARKERS, what + " " + id + " " + Date.now() + " " + owner + "\\n");
  mark("start");
  const ticks = setInterval(() => mark("tick"), 100);
  await new Promise((resolve) => setTimeout(resolve, ms));
  clearInterval(ticks);
  if (failFirst === 1 && c.ti.try_number === 1) {
    mark("fail");
    throw new Error("planned failure of the first try");
  }
  mark("end");
  return ms;
}

/** Task i takes 0.3-2 s, spread deterministically so every run has the same shape. */
const ms = (i: number) => 300 + ((i * 7919) % 1701);
/** One task in twenty fails its first try on purpose: retries are part of the workload. */
const ff = (i: number) => (i % 20 === 7 ? 1 : 0);

/** Even i: bash; odd i: TypeScript. */
function worker(id: string, i: number, options: { pool?: string } = {}) {
  if (i % 2 === 0) return bash(id, { command: "bash " + SCRIPT + " " + ms(i) + " " + ff(i) + " " + MARKERS, ...options });
  return task(id, () => work(ms(i), ff(i)), options)();
}

const defaultArgs = { retries: 3, retryDelay: "1s" };

export const main = dag(
  { dagId: "${MAIN_DAG}", schedule: null, maxActiveTasks: ${CAPS.maxActiveTasks[MAIN_DAG]}, defaultArgs },
  () => {
    let i = 0;
    const start = empty("start");
    const join = empty("join");
    for (let k = 0; k < ${s.fanOut}; k++) start.before(worker("fan_" + k, i++)).before(join);
    for (let c = 0; c < ${s.chains}; c++) {
      let prev = start;
      for (let k = 0; k < ${s.chainLength}; k++) {
        const t = worker("chain_" + c + "_" + k, i++);
        prev.before(t);
        prev = t;
      }
      prev.before(join);
    }
    for (let k = 0; k < ${s.pooled}; k++)
      start.before(worker("pooled_" + k, i++, { pool: "${CAPS.pool.name}" })).before(join);
    const end = empty("end");
    for (let k = 0; k < ${s.fanIn}; k++) join.before(worker("tail_" + k, i++)).before(end);
  },
);

// First in line for a slot: behind chaos_main's higher downstream weights it would wait until chaos_main
// ran out of work (the claim reads only 4 x its budget of candidates, by priority).
export const serial = dag(
  { dagId: "${SERIAL_DAG}", schedule: null, maxActiveRuns: 1, defaultArgs: { ...defaultArgs, priorityWeight: 1000, weightRule: "absolute" } },
  () => {
    const start = empty("start");
    const a = worker("a", 0);
    const b = worker("b", 1);
    start.before(a);
    for (let k = 0; k < ${s.serialFan}; k++) a.before(worker("fan_" + k, 2 + k)).before(b);
  },
);
`;
}

/** Tasks that write markers, per run. */
export function markedTasksPerRun(dagId: string): number {
  const s = SHAPE;
  return dagId === MAIN_DAG ? s.fanOut + s.chains * s.chainLength + s.pooled + s.fanIn : 2 + s.serialFan;
}
