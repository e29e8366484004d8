/**
 * The lifeline: every process this process starts for tasks dies with it, however it dies (a clean
 * exit, kill -9 of its pid, kill -9 of its whole process group). See ADR RN1.
 *
 * A reaper, `sh` (about 1 MB), is started once per process, in a session of its own so a kill of this
 * process's group does not reach it. Its stdin is a pipe whose other end only this process holds
 * (libuv opens every descriptor close-on-exec, so no task inherits it): when this process is gone, by
 * any means, the kernel closes that end and the reaper reads EOF. It then kills every process whose
 * environment carries this process's token, `UPDRAFT_LIFELINE=<random>`, which the bash spawner and
 * the TaskFlow workers have in theirs and pass to each task (and so to whatever a task starts): their
 * process groups with SIGKILL, scanning `/proc/<pid>/environ` again until none is left (forks in
 * flight). Only this token: another scheduler's tasks carry another.
 *
 * Without /proc (macOS) the reaper cannot find processes by token: the task runner registers each
 * task's process group with it instead (one line down the pipe per start and end), and it kills those.
 * A group started in the instant before this process died may then be missed.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";

export const LIFELINE_VAR = "UPDRAFT_LIFELINE";

/**
 * $1: the token; $2: its owner's process group, to look for the token in /proc, or "" not to. Waits for EOF on stdin, keeping the groups registered meanwhile ("+pgid", "-pgid");
 * then kills them, and every process carrying the token: its group, unless that is its owner's own
 * (the bash spawner's), where only the process itself is killed. Tasks lead groups of their own.
 */
const REAPER = `# updraft task lifeline: kills this scheduler process's tasks when it is gone (lifeline.ts)
t=$1 o=$2 g=" "
while read -r op p; do
  case $op$g in
    +*) g="$g$p " ;;
    -*" $p "*) g="\${g%% $p *} \${g#* $p }" ;;
  esac
done
for p in $g; do kill -9 -$p 2>/dev/null; done
[ -n "$o" ] || exit 0
i=0
while [ $i -lt 50 ]; do
  f=
  for e in $(grep -laF "${LIFELINE_VAR}=$t" /proc/[0-9]*/environ 2>/dev/null); do
    p=\${e#/proc/} p=\${p%/environ}
    read -r s 2>/dev/null </proc/$p/stat || continue
    s=\${s##*) }; set -- $s
    if [ "$3" = "$o" ]; then kill -9 $p; else kill -9 -$3; fi 2>/dev/null
    f=1
  done
  [ -n "$f" ] || exit 0
  i=$((i + 1))
  sleep 0.01
done
`;

/**
 * Whether the reaper finds tasks by their environment (Linux); otherwise groups are registered.
 * UPDRAFT_LIFELINE_NO_PROC=1 takes the second way where there is /proc (tests of the macOS way).
 */
const SCANS = existsSync("/proc/self/environ") && process.env.UPDRAFT_LIFELINE_NO_PROC !== "1";

let token: string | undefined;
let reaper: ChildProcess | undefined;
let restarts = 0;

/**
 * The variables every process started for tasks must carry (the bash spawner passes them on to each
 * bash task). Starts the reaper on first use.
 */
export function lifelineEnv(): Record<string, string> {
  token ??= randomBytes(12).toString("hex");
  reaper ??= startReaper(token);
  return { [LIFELINE_VAR]: token };
}

/** Where the reaper cannot scan /proc, it kills the groups registered here (a no-op on Linux). */
export function registerGroup(pgid: number): void {
  if (!SCANS && reaper?.stdin?.writable) reaper.stdin.write(`+ ${pgid}\n`);
}

export function unregisterGroup(pgid: number): void {
  if (!SCANS && reaper?.stdin?.writable) reaper.stdin.write(`- ${pgid}\n`);
}

/** The reaper's pid while it runs (tests). */
export function reaperPid(): number | undefined {
  return reaper?.pid;
}

/**
 * This process's group, read here rather than by the reaper: a reaper starting after its owner died
 * would read its new parent's (init's), and kill a group that is not a task's.
 */
function ownGroup(): string {
  const stat = readFileSync("/proc/self/stat", "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]!;
}

function startReaper(secret: string): ChildProcess {
  const env = { ...process.env };
  // The reaper must not carry a token: an outer scheduler's (this one a task of it) would kill it.
  delete env[LIFELINE_VAR];
  const child = spawn("/bin/sh", ["-c", REAPER, "updraft-lifeline", secret, SCANS ? ownGroup() : ""], {
    detached: true,
    stdio: ["pipe", "ignore", "ignore"],
    env,
  });
  child.on("error", (error) => {
    console.error(
      `updraft: the task lifeline could not start (${error.message}); tasks may outlive this process`,
    );
  });
  child.stdin!.on("error", () => {});
  // It must never keep this process alive.
  child.unref();
  (child.stdin as unknown as { unref(): void }).unref();
  child.once("exit", () => {
    // Killed while this process lives: start another with the same token (tasks carry it).
    if (reaper !== child || restarts++ >= 5) return;
    reaper = startReaper(secret);
  });
  return child;
}
