/**
 * The lifeline with real kills: a child Node process plays the scheduler (it starts a long bash task
 * with a grandchild and a long TaskFlow task with one), the test kill -9s it, and every process it
 * started for tasks must be gone within a second.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, test } from "node:test";

const here = (name: string) => new URL(`./${name}`, import.meta.url).href;
const dir = mkdtempSync(join(tmpdir(), "updraft-lifeline-"));
const dagPath = join(dir, "lf.ts");

writeFileSync(
  dagPath,
  `import { spawn } from "node:child_process";
import { dag, task } from "updraft";
export default dag({ dagId: "lf" }, () => {
  task("long", () => {
    const child = spawn("sleep", ["30"], { stdio: "ignore" });
    console.log(JSON.stringify({ worker: process.pid, workerChild: child.pid }));
    return new Promise(() => {});
  })();
  task("short", () => process.pid)();
});
`,
);

/** The scheduler's part: starts the tasks, prints every pid as one JSON line per fact. */
const SCHEDULER = join(dir, "scheduler.ts");
writeFileSync(
  SCHEDULER,
  `const { runBashTask } = await import(${JSON.stringify(here("bash-task.ts"))});
const { bashSpawnerPid } = await import(${JSON.stringify(here("bash-spawner.ts"))});
const { reaperPid } = await import(${JSON.stringify(here("lifeline.ts"))});
const { TaskFlowPool } = await import(${JSON.stringify(here("taskflow-pool.ts"))});
const say = (fact) => process.stdout.write(JSON.stringify(fact) + "\\n");
const pool = new TaskFlowPool({ maxWorkers: 1, defaultMemoryLimit: 128 });
const tf = (taskId, log) => pool.run({
  request: { path: ${JSON.stringify(dagPath)}, version: "v1", dagId: "lf", taskId, args: [], context: {} },
  memoryLimit: null, timeout: null, log,
});
const lines = (write) => ({ write: (chunk) => String(chunk).trim().split("\\n").forEach(write) });
if (process.argv[2] === "long") {
  void runBashTask(
    { command: 'sleep 30 & echo "{\\\\"grandchild\\\\":$!}"; echo "{\\\\"bash\\\\":$$}"; wait', env: {}, timeout: null },
    lines((l) => say(JSON.parse(l))),
  );
  void tf("long", lines((l) => say(JSON.parse(l))));
  const wait = setInterval(() => {
    if (bashSpawnerPid() === undefined || reaperPid() === undefined) return;
    clearInterval(wait);
    say({ spawner: bashSpawnerPid(), reaper: reaperPid() });
  }, 5);
} else {
  // Normal use: tasks finish, one leaves the lifeline on purpose (a daemon), the scheduler exits.
  const bash = await runBashTask(
    { command: 'env -u UPDRAFT_LIFELINE setsid sleep 30 >/dev/null 2>&1 & echo "{\\\\"daemon\\\\":$!}"', env: {}, timeout: null },
    lines((l) => say(JSON.parse(l))),
  );
  const short = await tf("short", { write() {} });
  say({ bash: bash.state, tf: short.state, reaper: reaperPid(), spawner: bashSpawnerPid() });
  await pool.close();
}
`,
);

interface Scheduler {
  child: ChildProcess;
  /** Resolves once every fact in `keys` has been printed. */
  facts(keys: string[]): Promise<Record<string, number | string>>;
  exited: Promise<number | null>;
}

function startScheduler(mode: "long" | "finish", detached = false, env = process.env): Scheduler {
  const child = spawn(process.execPath, ["--disable-warning=ExperimentalWarning", SCHEDULER, mode], {
    stdio: ["ignore", "pipe", "inherit"],
    detached,
    env,
  });
  const seen: Record<string, number | string> = {};
  const waiting = new Set<() => void>();
  createInterface({ input: child.stdout! }).on("line", (line) => {
    Object.assign(seen, JSON.parse(line));
    for (const check of waiting) check();
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return {
    child,
    exited,
    facts: (keys) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only saw ${JSON.stringify(seen)}`)), 15_000);
        const check = () => {
          if (!keys.every((k) => k in seen)) return;
          clearTimeout(timer);
          waiting.delete(check);
          resolve(seen);
        };
        waiting.add(check);
        check();
      }),
  };
}

/** Alive and not a zombie (killed processes may wait to be reaped by an init that never does). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^[ZX]$/.test(stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3));
  } catch {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }
}

/** Milliseconds until none of `pids` is alive, or null if some still are after `limitMs`. */
async function goneWithin(pids: number[], limitMs: number): Promise<number | null> {
  const start = performance.now();
  while (performance.now() - start < limitMs) {
    if (!pids.some(alive)) return performance.now() - start;
    await new Promise((r) => setTimeout(r, 2));
  }
  return null;
}

const leftovers = new Set<number>();
after(() => {
  for (const pid of leftovers) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
  }
});

const TASK_PROCESSES = ["bash", "grandchild", "worker", "workerChild", "spawner"] as const;

async function longScheduler(detached: boolean, env = process.env) {
  const scheduler = startScheduler("long", detached, env);
  const facts = await scheduler.facts([...TASK_PROCESSES, "reaper"]);
  const pids = TASK_PROCESSES.map((k) => facts[k] as number);
  pids.forEach((pid) => leftovers.add(pid));
  assert.ok(pids.every(alive), `every task process runs: ${JSON.stringify(facts)}`);
  return { scheduler, pids, reaper: facts.reaper as number };
}

for (const variant of ["its pid", "its whole process group"] as const) {
  test(`kill -9 of a scheduler (${variant}) kills its bash and TaskFlow tasks and their children`, async () => {
    const { scheduler, pids, reaper } = await longScheduler(variant !== "its pid");
    const pid = scheduler.child.pid!;
    process.kill(variant === "its pid" ? pid : -pid, "SIGKILL");
    const ms = await goneWithin(pids, 1000);
    const left = pids.filter(alive);
    assert.notEqual(ms, null, `still running 1 s after the kill: ${left.join(", ")}`);
    console.log(
      `# kill -9 of ${variant}: the last task process was gone ${ms!.toFixed(0)} ms after the kill`,
    );
    assert.notEqual(await goneWithin([reaper], 2000), null, "the reaper exits once it has done its work");
  });
}

test("without /proc (the macOS way) the reaper kills the registered groups of a killed scheduler", async () => {
  const { scheduler, pids } = await longScheduler(true, { ...process.env, UPDRAFT_LIFELINE_NO_PROC: "1" });
  process.kill(-scheduler.child.pid!, "SIGKILL");
  const ms = await goneWithin(pids, 1000);
  assert.notEqual(ms, null, `still running 1 s after the kill: ${pids.filter(alive).join(", ")}`);
  console.log(`# registered groups: the last task process was gone ${ms!.toFixed(0)} ms after the kill`);
});

test("a reaper killed while its scheduler lives is replaced, with the same token", async () => {
  const { scheduler, pids, reaper } = await longScheduler(true);
  process.kill(reaper, "SIGKILL");
  await new Promise((r) => setTimeout(r, 300));
  process.kill(-scheduler.child.pid!, "SIGKILL");
  assert.notEqual(await goneWithin(pids, 1000), null, `still running: ${pids.filter(alive).join(", ")}`);
});

test("two schedulers: a killed one's reaper leaves the other's tasks alone", async () => {
  const a = await longScheduler(true);
  const b = await longScheduler(true);
  process.kill(-a.scheduler.child.pid!, "SIGKILL");
  assert.notEqual(await goneWithin(a.pids, 1000), null, "the killed scheduler's tasks are gone");
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(b.pids.filter(alive), b.pids, "the other scheduler's tasks still run");
  process.kill(-b.scheduler.child.pid!, "SIGKILL");
  assert.notEqual(await goneWithin(b.pids, 1000), null);
});

test("normal use: tasks finish, the scheduler exits cleanly, a process that left the lifeline stays", async () => {
  const scheduler = startScheduler("finish");
  const facts = await scheduler.facts(["bash", "tf", "daemon", "reaper", "spawner"]);
  leftovers.add(facts.daemon as number);
  assert.equal(facts.bash, "success");
  assert.equal(facts.tf, "success");
  assert.equal(await scheduler.exited, 0);
  assert.notEqual(await goneWithin([facts.reaper as number, facts.spawner as number], 2000), null);
  assert.ok(alive(facts.daemon as number), "a process started with UPDRAFT_LIFELINE unset is not killed");
  process.kill(facts.daemon as number, "SIGKILL");
});
