/**
 * Child processes in their own process group, so a timeout or a kill reaches every grandchild too
 * (a bash task's `sleep` outlives a kill of bash alone).
 */
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";

export function spawnGroup(command: string, args: string[], options: SpawnOptions): ChildProcess {
  return spawn(command, args, { ...options, detached: true });
}

/** Signals the whole group; ESRCH (already gone) is not an error. */
export function killGroup(child: ChildProcess, signal: NodeJS.Signals = "SIGTERM"): void {
  if (child.pid !== undefined) killGroupOf(child.pid, signal);
}

/** Signals the group led by `pid` (a child started with its own group); ESRCH is not an error. */
export function killGroupOf(pid: number, signal: NodeJS.Signals = "SIGTERM"): void {
  try {
    process.kill(-pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
  }
}
