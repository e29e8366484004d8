/**
 * Running a bash task: the rendered command in bash, in its own process group, with the run's
 * context in the environment, output streamed to the task log. Airflow's exit codes: 0 success,
 * 99 skipped (configurable), anything else failed.
 */
import { accessSync, constants, existsSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { isAbsolute, join } from "node:path";
import { StringDecoder } from "node:string_decoder";
import { spawnBash } from "./bash-spawner.ts";
import { registerGroup, unregisterGroup } from "./lifeline.ts";
import { killGroupOf } from "./process-group.ts";
import { userCodeEnv } from "../core/child-env.ts";
import { identityEnv, type RunAs } from "./impersonation.ts";

export interface LogSink {
  write(chunk: string | Buffer, stream: "stdout" | "stderr" | "runner"): void;
}

export interface BashTaskRequest {
  command: string;
  env: Record<string, string>;
  cwd?: string;
  /** Seconds; the group is terminated when it passes. */
  timeout: number | null;
  skipExitCode?: number;
  signal?: AbortSignal;
  /** Run as this operating-system user (run_as_user); its HOME, USER and LOGNAME. */
  runAs?: RunAs;
}

export type TaskOutcome =
  /** `lastLine`: the last line the command wrote (Airflow's BashOperator pushes it as its XCom). */
  | { state: "success"; exitCode: 0; lastLine: string }
  | { state: "skipped"; exitCode: number }
  | { state: "failed"; exitCode: number | null; reason: string };

export function runBashTask(request: BashTaskRequest, log: LogSink): Promise<TaskOutcome> {
  const skipCode = request.skipExitCode ?? 99;
  return new Promise((resolve) => {
    let pid: number | undefined;
    let closed = false;
    let stopped: string | null = null;
    let killTimer: NodeJS.Timeout | undefined;
    // SIGTERM to the group, SIGKILL 5 s later if it has not ended; once its pid is known.
    const terminate = () => {
      if (pid === undefined || closed || killTimer) return;
      killGroupOf(pid, "SIGTERM");
      killTimer = setTimeout(() => {
        if (!closed) killGroupOf(pid!, "SIGKILL");
      }, 5000);
      killTimer.unref();
    };
    const stop = (why: string) => {
      stopped ??= why;
      terminate();
    };
    const timer = request.timeout
      ? setTimeout(
          () => stop(`timed out after ${request.timeout}s (executionTimeout)`),
          request.timeout * 1000,
        )
      : null;
    const onAbort = () => stop("stopped: the task was cleared or the run ended");
    const tail = lastLine();
    request.signal?.addEventListener("abort", onAbort, { once: true });
    spawnBash(
      {
        bash: bashPath(request.env),
        command: request.command,
        env: userCodeEnv(process.env, { ...(request.runAs && identityEnv(request.runAs)), ...request.env }),
        // The service's working directory may be one the task's user cannot enter.
        cwd: request.cwd ?? (request.runAs ? startDirectory(request.runAs) : undefined),
        runAs: request.runAs,
      },
      {
        onPid(started) {
          pid = started;
          registerGroup(pid);
          if (stopped) terminate();
        },
        onOutput: (chunk, stream) => {
          tail.add(chunk);
          log.write(chunk, stream);
        },
        onError: (message) => stop(`could not start bash: ${message}`),
        onLost: (why) => stop(why),
        onClose(code, signal) {
          closed = true;
          if (pid !== undefined) unregisterGroup(pid);
          if (killTimer) clearTimeout(killTimer);
          if (timer) clearTimeout(timer);
          request.signal?.removeEventListener("abort", onAbort);
          if (stopped) return resolve({ state: "failed", exitCode: code, reason: stopped });
          if (code === 0) return resolve({ state: "success", exitCode: 0, lastLine: tail.line() });
          if (code === skipCode) return resolve({ state: "skipped", exitCode: code });
          const reason = signal ? `bash was killed by ${signal}` : `bash exited with code ${code}`;
          resolve({ state: "failed", exitCode: code, reason });
        },
      },
    );
  });
}

/** At most this much of the last line is kept: an XCom that size is already past most databases' comfort. */
const MAX_LAST_LINE = 64 * 1024;

/**
 * The last line of a command's output (stdout and stderr as they arrive, as Airflow's subprocess hook
 * reads them merged), without its line ending: what is kept is the current and the previous line only.
 */
function lastLine() {
  // A character split across two chunks is decoded whole.
  const decoder = new StringDecoder("utf8");
  let previous = "";
  let current = "";
  return {
    add(chunk: Buffer) {
      const lines = decoder.write(chunk).split("\n");
      if (lines.length === 1) {
        current = (current + lines[0]).slice(-MAX_LAST_LINE);
        return;
      }
      // A chunk with line ends: what came before its last one is the newest complete line.
      previous = lines.length === 2 ? current + lines[0] : lines.at(-2)!;
      current = lines.at(-1)!.slice(-MAX_LAST_LINE);
      previous = previous.slice(-MAX_LAST_LINE);
    },
    line: () => (current !== "" ? current : previous).trimEnd(),
  };
}

/** Where an impersonated task starts when it names no cwd: its user's home if there is one. */
function startDirectory(runAs: RunAs): string {
  return existsSync(runAs.home) ? runAs.home : tmpdir();
}

let resolved: { path: string | undefined; bash: string } | undefined;

/**
 * bash's absolute path, found once per PATH: the child's exec then skips the PATH search (one failed
 * execve per directory before bash's, on every spawn). "bash" as before when the task sets its own
 * PATH or a relative PATH entry comes first, so the same bash runs as with a PATH search.
 */
export function bashPath(env: Record<string, string>): string {
  if ("PATH" in env) return "bash";
  const path = process.env.PATH;
  if (resolved?.path !== path) resolved = { path, bash: searchPath(path) };
  return resolved!.bash;
}

function searchPath(path: string | undefined): string {
  for (const dir of (path ?? "").split(":")) {
    if (!isAbsolute(dir)) return "bash";
    const candidate = join(dir, "bash");
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      continue;
    }
  }
  return "bash";
}

/** The run's context for the task's environment (Airflow's AIRFLOW_CTX_*, as UPDRAFT_CTX_*). */
export function contextEnv(ctx: {
  dagId: string;
  taskId: string;
  runId: string;
  tryNumber: number;
  logicalDate: string | null;
}): Record<string, string> {
  return {
    UPDRAFT_CTX_DAG_ID: ctx.dagId,
    UPDRAFT_CTX_TASK_ID: ctx.taskId,
    UPDRAFT_CTX_DAG_RUN_ID: ctx.runId,
    UPDRAFT_CTX_TRY_NUMBER: String(ctx.tryNumber),
    UPDRAFT_CTX_LOGICAL_DATE: ctx.logicalDate ?? "",
  };
}
