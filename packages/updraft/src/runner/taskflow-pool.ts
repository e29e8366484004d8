/**
 * A pool of TaskFlow workers. Workers are reused between tasks with the same memory limit (the limit
 * is the worker's heap size, fixed at start), at most `maxWorkers` at once. A task that times out, is
 * stopped, or kills its worker (out of memory, process.exit, a crash) fails alone: its worker is
 * replaced and the pool carries on.
 */
import { fork, type ChildProcess } from "node:child_process";
import { killGroup } from "./process-group.ts";
import type { LogSink } from "./bash-task.ts";
import type { TaskFlowReply, TaskFlowRequest } from "./taskflow-protocol.ts";

const WORKER_URL = new URL(
  `./taskflow-worker${import.meta.url.endsWith(".ts") ? ".ts" : ".js"}`,
  import.meta.url,
);
const STDERR_TAIL = 4000;

export interface TaskFlowPoolOptions {
  maxWorkers: number;
  /** MiB, for tasks that set no memoryLimit. */
  defaultMemoryLimit: number;
  /** An idle worker exits after this long, so an idle installation holds no workers. */
  idleTimeoutMs?: number;
  /** How long a task waits for a busy worker before the pool starts another (default 25 ms). */
  spawnDelayMs?: number;
}

export interface TaskFlowRun {
  request: Omit<TaskFlowRequest, "id">;
  memoryLimit: number | null;
  timeout: number | null;
  log: LogSink;
  signal?: AbortSignal;
}

export type TaskFlowOutcome =
  | { state: "success"; value: unknown }
  | { state: "skipped"; reason: string }
  | { state: "failed"; reason: string; retryable: boolean };

interface Worker {
  child: ChildProcess;
  memoryLimit: number;
  busy: boolean;
  stderr: string;
  /** It has answered once (its DAG module is loaded). */
  started: boolean;
  /** When its current task was handed to it (null when idle). */
  busySince: number | null;
  idleTimer?: NodeJS.Timeout;
}

export class TaskFlowPool {
  readonly #options: TaskFlowPoolOptions;
  readonly #workers = new Set<Worker>();
  readonly #waiting: (() => void)[] = [];
  #nextId = 1;
  #closed = false;
  /** Workers started that have not answered their first task yet. */
  #starting = 0;

  constructor(options: TaskFlowPoolOptions) {
    this.#options = options;
  }

  get size(): number {
    return this.#workers.size;
  }

  async run(task: TaskFlowRun): Promise<TaskFlowOutcome> {
    const memoryLimit = task.memoryLimit ?? this.#options.defaultMemoryLimit;
    const worker = await this.#acquire(memoryLimit);
    try {
      return await this.#execute(worker, task, memoryLimit);
    } finally {
      this.#release(worker);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const worker of this.#workers) this.#discard(worker);
  }

  /**
   * An idle worker with the same memory limit, or a new one. Starting a worker costs a few hundred
   * milliseconds of CPU (Node, the SDK, the DAG module), so the pool grows one worker at a time and
   * only when a task has waited `spawnDelayMs` for a free one: short tasks share a few workers, long
   * ones get up to `maxWorkers`.
   */
  async #acquire(memoryLimit: number): Promise<Worker> {
    const since = performance.now();
    const delay = this.#options.spawnDelayMs ?? 25;
    for (;;) {
      if (this.#closed) throw new Error("the TaskFlow pool is closed");
      const idle = [...this.#workers].find((w) => !w.busy && w.memoryLimit === memoryLimit);
      if (idle) {
        clearTimeout(idle.idleTimer);
        idle.busy = true;
        return idle;
      }
      const spare = [...this.#workers].find((w) => !w.busy);
      if (spare && this.#workers.size >= this.#options.maxWorkers) this.#discard(spare);
      const waited = performance.now() - since;
      const mayGrow = this.#workers.size < this.#options.maxWorkers;
      const noneFits = ![...this.#workers].some((w) => w.memoryLimit === memoryLimit);
      // Workers that each finish a task in a millisecond serve a queue faster than a new one starts
      // (measured: one warm worker runs ~5,000 no-op tasks/s); only workers held by long tasks call for
      // another.
      const allHeld = [...this.#workers].every(
        (w) => w.busySince !== null && performance.now() - w.busySince >= delay,
      );
      if (mayGrow && (noneFits || (this.#starting === 0 && waited >= delay && allHeld)))
        return this.#spawn(memoryLimit);
      await new Promise<void>((resolve) => {
        this.#waiting.push(resolve);
        if (mayGrow) setTimeout(resolve, Math.max(1, delay - waited)).unref();
      });
    }
  }

  #release(worker: Worker): void {
    worker.busy = false;
    worker.busySince = null;
    if (this.#workers.has(worker)) {
      worker.idleTimer = setTimeout(() => this.#discard(worker), this.#options.idleTimeoutMs ?? 60_000);
      worker.idleTimer.unref();
    }
    // Every waiter looks again (a handful at most): one takes this worker, the rest wait on.
    for (const wake of this.#waiting.splice(0)) wake();
  }

  #spawn(memoryLimit: number): Worker {
    const child = fork(WORKER_URL, [], {
      execArgv: [
        `--max-old-space-size=${Math.max(16, Math.floor(memoryLimit))}`,
        "--disable-warning=ExperimentalWarning",
      ],
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      serialization: "json",
      // Its own process group: stopping a task kills whatever the task started too.
      detached: true,
    });
    const worker: Worker = { child, memoryLimit, busy: true, stderr: "", started: false, busySince: null };
    this.#starting++;
    const ready = () => {
      if (worker.started) return;
      worker.started = true;
      this.#starting--;
    };
    child.once("message", ready);
    child.once("exit", ready);
    child.stderr?.on("data", (chunk: Buffer) => {
      worker.stderr = (worker.stderr + chunk.toString()).slice(-STDERR_TAIL);
    });
    child.stdout?.resume();
    child.once("exit", () => this.#workers.delete(worker));
    this.#workers.add(worker);
    return worker;
  }

  #discard(worker: Worker): void {
    clearTimeout(worker.idleTimer);
    this.#workers.delete(worker);
    killGroup(worker.child, "SIGKILL");
  }

  #execute(worker: Worker, task: TaskFlowRun, memoryLimit: number): Promise<TaskFlowOutcome> {
    const id = this.#nextId++;
    worker.busySince = performance.now();
    worker.stderr = "";
    return new Promise((resolve) => {
      const finish = (outcome: TaskFlowOutcome, discard = false) => {
        clearTimeout(timer);
        worker.child.off("message", onMessage);
        worker.child.off("exit", onExit);
        task.signal?.removeEventListener("abort", onAbort);
        if (discard) this.#discard(worker);
        resolve(outcome);
      };
      const onMessage = (reply: TaskFlowReply) => {
        if (reply.id !== id) return;
        if (reply.kind === "log") return task.log.write(reply.text, reply.stream);
        if (reply.outcome === "success") return finish({ state: "success", value: reply.value });
        if (reply.stack) task.log.write(reply.stack + "\n", "stderr");
        if (reply.outcome === "skipped") return finish({ state: "skipped", reason: reply.message });
        finish({ state: "failed", reason: reply.message, retryable: reply.outcome !== "fail_now" });
      };
      const onExit = (code: number | null, signal: string | null) =>
        setTimeout(
          () =>
            finish({
              state: "failed",
              reason: crashReason(worker.stderr, code, signal, memoryLimit),
              retryable: true,
            }),
          20,
        );
      const timer = task.timeout
        ? setTimeout(
            () =>
              finish(
                {
                  state: "failed",
                  reason: `timed out after ${task.timeout}s (executionTimeout)`,
                  retryable: true,
                },
                true,
              ),
            task.timeout * 1000,
          )
        : undefined;
      const onAbort = () =>
        finish(
          { state: "failed", reason: "stopped: the task was cleared or the run ended", retryable: false },
          true,
        );
      task.signal?.addEventListener("abort", onAbort, { once: true });
      worker.child.on("message", onMessage);
      worker.child.once("exit", onExit);
      worker.child.send({ ...task.request, id } satisfies TaskFlowRequest);
    });
  }
}

function crashReason(
  stderr: string,
  code: number | null,
  signal: string | null,
  memoryLimit: number,
): string {
  if (/heap out of memory|Reached heap limit|allocation failed/i.test(stderr)) {
    return `memory limit of ${memoryLimit} MiB exceeded (set memoryLimit on the task to give it more)`;
  }
  const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
  return `the task's process ${how} before the task finished${stderr.trim() ? `: ${stderr.trim().split("\n").slice(-3).join(" | ")}` : ""}`;
}
