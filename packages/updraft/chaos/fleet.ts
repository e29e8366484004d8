/**
 * The schedulers under test: real `updraft scheduler` processes (bin/updraft.js), each started
 * detached so it leads its own process group, its output appended to a log file per slot. A kill is
 * kill -9 of the pid or of the whole group; the slot is restarted at once as a new incarnation, whose
 * name (CHAOS_OWNER, e.g. "s2.3") its tasks write into their markers. A scheduler that exits by
 * itself is recorded and restarted too.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { appendFileSync, closeSync, openSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export const BIN = new URL("../bin/updraft.js", import.meta.url).pathname;

export interface Kill {
  /** ms since the epoch */
  at: number;
  slot: number;
  owner: string;
  pid: number;
  mode: "pid" | "group";
}

interface Slot {
  index: number;
  incarnation: number;
  owner: string;
  child: ChildProcess;
  log: string;
}

export class Fleet {
  readonly #slots: Slot[] = [];
  readonly #env: NodeJS.ProcessEnv;
  readonly #logDir: string;
  /** What each slot runs: `scheduler` (owners s1.1, s2.1...) or `worker` (w1.1...). */
  readonly #command: "scheduler" | "worker";
  readonly unexpectedExits: { owner: string; code: number | null; signal: string | null; at: number }[] = [];

  constructor(env: NodeJS.ProcessEnv, logDir: string, command: "scheduler" | "worker" = "scheduler") {
    this.#env = env;
    this.#logDir = logDir;
    this.#command = command;
  }

  get size(): number {
    return this.#slots.length;
  }

  logFile(index: number): string {
    return join(this.#logDir, `${this.#command}-${index}.log`);
  }

  start(count: number): void {
    for (let i = 1; i <= count; i++) this.#slots.push(this.#launch(i, 1));
  }

  pids(): number[] {
    return this.#slots.map((s) => s.child.pid!);
  }

  /** kill -9 one scheduler (its pid, or its whole process group), then start its slot again. */
  killAndRestart(slotIndex: number, mode: "pid" | "group"): Kill {
    const slot = this.#slots[slotIndex - 1]!;
    const pid = slot.child.pid!;
    const at = Date.now();
    slot.child.removeAllListeners("exit");
    try {
      process.kill(mode === "group" ? -pid : pid, "SIGKILL");
    } catch {
      // it had already exited (recorded as an unexpected exit)
    }
    this.#slots[slotIndex - 1] = this.#launch(slotIndex, slot.incarnation + 1);
    return { at, slot: slotIndex, owner: slot.owner, pid, mode };
  }

  /** SIGTERM to every scheduler (a clean shutdown), then SIGKILL to the group of any still running. */
  async stop(graceSeconds: number): Promise<{ owner: string; code: number | null; cleanly: boolean }[]> {
    return Promise.all(
      this.#slots.map(async (slot) => {
        slot.child.removeAllListeners("exit");
        if (slot.child.exitCode !== null || slot.child.signalCode !== null)
          return { owner: slot.owner, code: slot.child.exitCode, cleanly: false };
        const exited = new Promise<number | null>((r) => slot.child.once("exit", (code) => r(code)));
        slot.child.kill("SIGTERM");
        const timer = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), graceSeconds * 1000));
        const outcome = await Promise.race([exited, timer]);
        if (outcome === "timeout") {
          try {
            process.kill(-slot.child.pid!, "SIGKILL");
          } catch {
            // gone meanwhile
          }
          return { owner: slot.owner, code: null, cleanly: false };
        }
        return { owner: slot.owner, code: outcome, cleanly: outcome === 0 };
      }),
    );
  }

  #launch(index: number, incarnation: number): Slot {
    const owner = `${this.#command === "worker" ? "w" : "s"}${index}.${incarnation}`;
    const log = this.logFile(index);
    appendFileSync(log, `\n===== chaos harness: starting ${owner} at ${new Date().toISOString()}\n`);
    const fd = openSync(log, "a");
    const args =
      this.#command === "worker" ? ["worker", "--hostname", owner, "--concurrency", "8"] : ["scheduler"];
    const child = spawn(process.execPath, ["--max-semi-space-size=8", BIN, ...args], {
      // UPDRAFT_VAR_*: what user code is given of a service's environment (core/child-env.ts).
      env: { ...this.#env, CHAOS_OWNER: owner, UPDRAFT_VAR_CHAOS_OWNER: owner },
      detached: true,
      stdio: ["ignore", fd, fd],
    });
    closeSync(fd);
    // A scheduler that dies by itself is a crash: recorded, and restarted like systemd's Restart=always.
    child.once("exit", (code, signal) => {
      this.unexpectedExits.push({ owner, code, signal, at: Date.now() });
      appendFileSync(log, `\n===== chaos harness: ${owner} exited by itself (${signal ?? `code ${code}`})\n`);
      this.#slots[index - 1] = this.#launch(index, incarnation + 1);
    });
    return { index, incarnation, owner, child, log };
  }
}

/** Runs the real CLI once (db migrate, pools set, dags list, dags trigger); output goes to `log`. */
export function cli(
  env: NodeJS.ProcessEnv,
  log: string,
  args: string[],
): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      appendFileSync(log, `\n$ updraft ${args.join(" ")}  (exit ${code})\n${output}`);
      resolve({ ok: code === 0, output });
    });
  });
}

/**
 * Processes still alive that the test started (directly or through a scheduler): every one carries
 * UPDRAFT_HOME=<the test's home> in its environment. Orphaned task processes show up here.
 */
export function processesOf(home: string): { pid: number; command: string }[] {
  // Workers' homes are <home>/worker-N: found by the same prefix.
  const needles = [`UPDRAFT_HOME=${home}\0`, `UPDRAFT_HOME=${home}/worker-`];
  const found: { pid: number; command: string }[] = [];
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const environ = readFileSync(`/proc/${pid}/environ`, "latin1");
      if (!needles.some((n) => environ.includes(n))) continue;
      const command = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ").trim();
      found.push({ pid, command });
    } catch {
      // exited meanwhile, or not ours to read
    }
  }
  return found;
}

/** SIGKILL by pid to each of the test's own leftover processes. */
export function killLeftovers(home: string): number {
  const left = processesOf(home);
  for (const p of left) {
    try {
      process.kill(p.pid, "SIGKILL");
    } catch {
      // gone meanwhile
    }
  }
  return left.length;
}
