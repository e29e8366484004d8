/**
 * The task runner's side of the bash spawner (bash-spawner-process.ts): one small process, started on
 * first use and again after it is lost, that starts every bash task of this scheduler.
 */
import { fork, type ChildProcess } from "node:child_process";
import { lifelineEnv } from "./lifeline.ts";
import { userCodeEnv } from "../core/child-env.ts";
import type { RunAs } from "./impersonation.ts";

export interface SpawnerRequest {
  id: number;
  bash: string;
  command: string;
  env: Record<string, string | undefined>;
  cwd?: string;
  /** Start it as this operating-system user (run_as_user). */
  runAs?: RunAs;
}

export type SpawnerReply =
  | { t: "ready" }
  | { t: "pid"; id: number; pid: number }
  | { t: "out"; id: number; stream: "stdout" | "stderr"; d: string }
  | { t: "error"; id: number; message: string }
  | { t: "close"; id: number; code: number | null; signal: NodeJS.Signals | null };

export interface SpawnedTask {
  onPid(pid: number): void;
  onOutput(chunk: Buffer, stream: "stdout" | "stderr"): void;
  /** The process could not be started. */
  onError(message: string): void;
  /** The spawner was lost: the task's output and exit will not be known; onClose follows. */
  onLost(why: string): void;
  onClose(code: number | null, signal: NodeJS.Signals | null): void;
}

const PROCESS_URL = new URL(
  `./bash-spawner-process${import.meta.url.endsWith(".ts") ? ".ts" : ".js"}`,
  import.meta.url,
);

let spawner: { child: ChildProcess; tasks: Map<number, SpawnedTask> } | undefined;
let nextId = 0;

function start(): NonNullable<typeof spawner> {
  const child = fork(PROCESS_URL, [], {
    // Lean: none of the scheduler's flags (profilers, heap sizes), a small heap.
    // A small young generation: the messages it relays are garbage at once, collected early.
    execArgv: ["--max-old-space-size=64", "--max-semi-space-size=1", "--disable-warning=ExperimentalWarning"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    serialization: "json",
    // The lifeline's token, which it passes to every task: they die with this process (lifeline.ts).
    // It starts user code and lives long: it holds no more than the tasks may (core/child-env.ts).
    env: userCodeEnv(process.env, lifelineEnv()),
  });
  const tasks = new Map<number, SpawnedTask>();
  const self = { child, tasks };
  child.on("message", (m: SpawnerReply) => {
    if (m.t === "ready") return;
    const task = tasks.get(m.id);
    if (!task) return;
    if (m.t === "pid") task.onPid(m.pid);
    else if (m.t === "out") task.onOutput(Buffer.from(m.d, "base64"), m.stream);
    else if (m.t === "error") task.onError(m.message);
    else {
      tasks.delete(m.id);
      idle(self);
      task.onClose(m.code, m.signal);
    }
  });
  const lost = (why: string) => {
    if (spawner === self) spawner = undefined;
    const left = [...tasks.values()];
    tasks.clear();
    for (const task of left) {
      task.onLost(why);
      task.onClose(null, null);
    }
  };
  child.on("error", (error) => lost(`the bash spawner failed: ${error.message}`));
  child.on("exit", (code, signal) => lost(`the bash spawner exited (${signal ?? `code ${code}`})`));
  idle(self);
  return self;
}

/** The spawner keeps this process alive only while it runs tasks. */
function idle(s: NonNullable<typeof spawner>): void {
  if (s.tasks.size > 0) return;
  s.child.unref();
  s.child.channel?.unref();
}

/**
 * Starts the spawner now rather than at the first bash task: a scheduler service keeps it for its
 * life, so its memory is part of the scheduler's own, not of the first task's.
 */
export function startBashSpawner(): void {
  spawner ??= start();
}

/** Starts `bash -c command` in its own process group, in the spawner. */
export function spawnBash(request: Omit<SpawnerRequest, "id">, task: SpawnedTask): void {
  spawner ??= start();
  const id = nextId++;
  if (spawner.tasks.size === 0) {
    spawner.child.ref();
    spawner.child.channel?.ref();
  }
  spawner.tasks.set(id, task);
  spawner.child.send({ ...request, id } satisfies SpawnerRequest);
}

/** The spawner's pid while it runs (tests). */
export function bashSpawnerPid(): number | undefined {
  return spawner?.child.pid;
}
