/**
 * The bash spawner: a small process that starts bash tasks for the task runner. Forking copies the
 * page tables of the process that forks and blocks it until bash is exec'd; from this small process
 * that costs a fraction of what it costs the scheduler (a few hundred MiB), and the scheduler's event
 * loop does not wait. It only starts processes and relays their output and exit: the task runner
 * kills their process groups itself, and keeps the log.
 */
import type { SpawnerReply, SpawnerRequest } from "./bash-spawner.ts";
import type { ChildProcess } from "node:child_process";
import { LIFELINE_VAR } from "./lifeline.ts";
import { killGroupOf, spawnGroup } from "./process-group.ts";
import { asUser } from "./impersonation.ts";

const send = (reply: SpawnerReply, sent?: () => void) => {
  if (process.connected) process.send!(reply, undefined, undefined, sent);
};

// Output waiting to be sent: past this many messages every task's output is paused until it drains.
let unsent = 0;
const paused = new Set<NodeJS.ReadableStream>();
// Groups started and not closed yet: killed if the scheduler goes.
const running = new Set<ChildProcess>();
// The scheduler's lifeline token (lifeline.ts), set last: a task cannot leave the lifeline by its env.
const lifeline = process.env[LIFELINE_VAR];

process.on("message", (m: SpawnerRequest) => {
  if (lifeline) m.env[LIFELINE_VAR] = lifeline;
  // Its own process group: a stop or timeout reaches every grandchild.
  const { command, args, uid, gid } = asUser(m.runAs, m.bash, ["-c", m.command]);
  const child = spawnGroup(command, args, {
    cwd: m.cwd,
    env: m.env,
    uid,
    gid,
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (child.pid !== undefined) {
    running.add(child);
    send({ t: "pid", id: m.id, pid: child.pid });
  }
  for (const stream of ["stdout", "stderr"] as const) {
    const readable = child[stream]!;
    readable.on("data", (d: Buffer) => {
      unsent++;
      send({ t: "out", id: m.id, stream, d: d.toString("base64") }, () => {
        if (--unsent > 16) return;
        for (const r of paused) r.resume();
        paused.clear();
      });
      if (unsent > 64) {
        readable.pause();
        paused.add(readable);
      }
    });
  }
  child.on("error", (error) => send({ t: "error", id: m.id, message: error.message }));
  child.on("close", (code, signal) => {
    running.delete(child);
    send({ t: "close", id: m.id, code, signal });
  });
});

// The scheduler is gone: its tasks go with it (their results could not be recorded). The lifeline's
// reaper kills them too; this is for a scheduler killed alone, at once, and where there is no /proc.
process.on("disconnect", () => {
  for (const child of running) killGroupOf(child.pid!, "SIGKILL");
  process.exit(0);
});
send({ t: "ready" });
