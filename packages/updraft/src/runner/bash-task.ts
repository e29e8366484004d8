/**
 * Running a bash task: the rendered command in bash, in its own process group, with the run's
 * context in the environment, output streamed to the task log. Airflow's exit codes: 0 success,
 * 99 skipped (configurable), anything else failed.
 */
import { terminateGroup, spawnGroup } from "./process-group.ts";

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
}

export type TaskOutcome =
  | { state: "success"; exitCode: 0 }
  | { state: "skipped"; exitCode: number }
  | { state: "failed"; exitCode: number | null; reason: string };

export function runBashTask(request: BashTaskRequest, log: LogSink): Promise<TaskOutcome> {
  const skipCode = request.skipExitCode ?? 99;
  return new Promise((resolve) => {
    const child = spawnGroup("bash", ["-c", request.command], {
      cwd: request.cwd,
      env: { ...process.env, ...request.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stopped: string | null = null;
    const stop = (why: string) => {
      stopped ??= why;
      terminateGroup(child);
    };
    const timer = request.timeout
      ? setTimeout(
          () => stop(`timed out after ${request.timeout}s (executionTimeout)`),
          request.timeout * 1000,
        )
      : null;
    const onAbort = () => stop("stopped: the task was cleared or the run ended");
    request.signal?.addEventListener("abort", onAbort, { once: true });
    child.stdout?.on("data", (chunk: Buffer) => log.write(chunk, "stdout"));
    child.stderr?.on("data", (chunk: Buffer) => log.write(chunk, "stderr"));
    child.on("error", (error) => stop(`could not start bash: ${error.message}`));
    child.on("close", (code, signal) => {
      if (timer) clearTimeout(timer);
      request.signal?.removeEventListener("abort", onAbort);
      if (stopped) return resolve({ state: "failed", exitCode: code, reason: stopped });
      if (code === 0) return resolve({ state: "success", exitCode: 0 });
      if (code === skipCode) return resolve({ state: "skipped", exitCode: code });
      const reason = signal ? `bash was killed by ${signal}` : `bash exited with code ${code}`;
      resolve({ state: "failed", exitCode: code, reason });
    });
  });
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
