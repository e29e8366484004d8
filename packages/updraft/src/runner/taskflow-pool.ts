/**
 * A pool of TaskFlow workers. Workers are reused between tasks with the same memory limit (the limit
 * is the worker's heap size, fixed at start), at most `maxWorkers` at once. A task that times out, is
 * stopped, or kills its worker (out of memory, process.exit, a crash) fails alone: its worker is
 * replaced and the pool carries on.
 *
 * Pipelining (`depth`, default 2): when no worker with the task's memory limit is idle, the pool may
 * hand a busy one a second request, which the worker starts as soon as its current task has
 * answered, instead of sitting idle while the reply travels to the scheduler and the next request
 * comes back. Measured on 2 cores (bench/scheduler.ts, fan-out of 1,000 no-op tasks, 20 runs each,
 * alternated): median 945 TI/s without, 1,143 with depth 2 (one worker: a second one measured
 * worse). Deeper (3, 8, 32) showed no clear further gain and holds more tasks behind a slow one.
 * Tasks that find no place wait in one queue, oldest first, and take a place as it comes free.
 * - Only `depth - 1` requests wait in a worker, only behind a task that started less than
 *   `spawnDelayMs` ago, and one still waiting after `spawnDelayMs` is taken back (the worker drops it)
 *   and placed again like any task that waited that long: a long task never holds another up for
 *   long, and the pool grows by the same rule as without pipelining.
 * - The pool knows which request runs from the replies' order: the first one without a result. Its
 *   timeout starts when it starts (when the previous reply arrives), not while it waits.
 * - When a worker dies (out of memory, process.exit, a crash, a timeout or a stop), only the running
 *   task fails; requests waiting behind it had not started and are sent again (to a new worker).
 * - Stopping a waiting request fails it at once; the worker drops it, or if it had started by then
 *   (its predecessor's reply was on its way), the worker is killed like for any running task.
 */
import { fork, type ChildProcess } from "node:child_process";
import { lifelineEnv, registerGroup, unregisterGroup } from "./lifeline.ts";
import { killGroup } from "./process-group.ts";
import type { LogSink } from "./bash-task.ts";
import type {
  LookupKind,
  TaskFlowLookupReply,
  TaskFlowMessage,
  TaskFlowReply,
  TaskFlowRequest,
  VariableWrite,
  VariableWritten,
} from "./taskflow-protocol.ts";
import { userCodeEnv } from "../core/child-env.ts";
import { identityEnv, type RunAs } from "./impersonation.ts";

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
  /** Requests a worker holds at once: the running one and those waiting behind it (default 2). */
  depth?: number;
}

export interface TaskFlowRun {
  request: Omit<TaskFlowRequest, "id">;
  memoryLimit: number | null;
  timeout: number | null;
  log: LogSink;
  signal?: AbortSignal;
  /** Run as this operating-system user (run_as_user): only workers started as that user take it. */
  runAs?: RunAs;
  /** Answers the task's getVariable / getConnection (undefined: there is none). */
  lookup?: (what: LookupKind, key: string) => Promise<unknown>;
  /** Writes the task's setVariable, fenced by its try (undefined: it cannot write here). */
  setVariable?: (variable: VariableWrite) => Promise<VariableWritten>;
  /** "process": this try gets a fresh worker of its own, gone when it ends; default: a shared worker. */
  isolation?: "dag" | "process";
}

export type TaskFlowOutcome =
  | { state: "success"; value: unknown }
  | { state: "skipped"; reason: string }
  | { state: "failed"; reason: string; retryable: boolean };

/**
 * Which workers may run a task: the same memory limit and user; a try isolated in a process of its
 * own shares with nobody. (Workers are not kept per DAG: with many DAGs that spawns a worker per DAG,
 * measured 0.9 s -> 42 s for 100 DAGs of 10 tasks; `isolation: "process"` is the way to a clean process.)
 */
function workerKind(task: TaskFlowRun, memoryLimit: number, jobId: number): string {
  const user = task.runAs ? `@${task.runAs.user}` : "";
  const own = task.isolation === "process" ? `!${jobId}` : "";
  return `${memoryLimit}${user}${own}`;
}

const STOPPED: TaskFlowOutcome = {
  state: "failed",
  reason: "stopped: the task was cleared or the run ended",
  retryable: false,
};

/** One request handed to a worker. */
interface Job {
  id: number;
  task: TaskFlowRun;
  memoryLimit: number;
  /** Which workers may run it: the same memory limit and user (workerKind). */
  kind: string;
  /** When its task first asked for a worker. */
  since: number;
  /** The outcome, or null: it never started and must be placed again. */
  resolve: (outcome: TaskFlowOutcome | null) => void;
  reject: (error: Error) => void;
  onAbort: () => void;
  /** The execution timeout once it runs; while it waits, when to take it back. */
  timer?: NodeJS.Timeout;
  /** Stopped while waiting: its caller has its outcome; the worker was asked to drop it. */
  cancelled: boolean;
  /** Waited too long behind a busy task: the worker was asked to drop it, to be placed again. */
  withdrawn: boolean;
}

interface Worker {
  child: ChildProcess;
  memoryLimit: number;
  /** Its memory limit and user (Job.kind). */
  kind: string;
  /** Requests sent and not answered yet, in order: the first one runs, the others wait. */
  jobs: Job[];
  stderr: string;
  /** It has answered once (its DAG module is loaded). */
  started: boolean;
  /** When its running task started (null when idle). */
  busySince: number | null;
  /** Killed or exited: no more requests, its jobs are settled. */
  gone: boolean;
  idleTimer?: NodeJS.Timeout;
}

/** Answers a task's lookup or write (unless its worker is gone meanwhile). */
function answer(worker: Worker, ask: number, m: Omit<TaskFlowLookupReply, "kind" | "ask">): void {
  if (!worker.gone) worker.child.send({ kind: "lookup-reply", ask, ...m } satisfies TaskFlowMessage);
}

function settleAsk(worker: Worker, ask: number, pending: Promise<unknown>): void {
  pending.then(
    (value) => answer(worker, ask, { value: value ?? null }),
    (error: unknown) =>
      answer(worker, ask, { error: error instanceof Error ? error.message : String(error) }),
  );
}

export class TaskFlowPool {
  readonly #options: TaskFlowPoolOptions;
  readonly #depth: number;
  readonly #workers = new Set<Worker>();
  /** Jobs waiting for a place, oldest first. */
  readonly #pending: Job[] = [];
  #growthTimer?: NodeJS.Timeout;
  #nextId = 1;
  #closed = false;
  /** Workers started that have not answered their first task yet. */
  #starting = 0;

  constructor(options: TaskFlowPoolOptions) {
    this.#options = options;
    this.#depth = Math.max(1, options.depth ?? 2);
  }

  get size(): number {
    return this.#workers.size;
  }

  /** Requests waiting in a worker behind its running task. */
  get queued(): number {
    let n = 0;
    for (const w of this.#workers) n += Math.max(0, w.jobs.length - 1);
    return n;
  }

  async run(task: TaskFlowRun): Promise<TaskFlowOutcome> {
    const memoryLimit = task.memoryLimit ?? this.#options.defaultMemoryLimit;
    const since = performance.now();
    for (let again = false; ; again = true) {
      if (task.signal?.aborted) return STOPPED;
      const outcome = await new Promise<TaskFlowOutcome | null>((resolve, reject) => {
        if (this.#closed) return reject(new Error("the TaskFlow pool is closed"));
        const job: Job = {
          id: this.#nextId++,
          task,
          memoryLimit,
          kind: workerKind(task, memoryLimit, this.#nextId - 1),
          since,
          resolve,
          reject,
          onAbort: () => this.#abort(job),
          cancelled: false,
          withdrawn: false,
        };
        if (this.#place(job)) return;
        // Sent again (it never started): it goes first.
        if (again) this.#pending.unshift(job);
        else this.#pending.push(job);
        this.#armGrowth();
      });
      if (outcome) return outcome;
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#growthTimer);
    for (const job of this.#pending.splice(0)) job.reject(new Error("the TaskFlow pool is closed"));
    for (const worker of this.#workers) this.#discard(worker);
  }

  /**
   * Sends the job to an idle worker with the same memory limit, behind a task that has just started
   * (pipelining), or to a new worker; false when it must wait. Starting a worker costs a few hundred
   * milliseconds of CPU (Node, the SDK, the DAG module), so the pool grows one worker at a time and
   * only when a task has waited `spawnDelayMs` for a free one: short tasks share a few workers, long
   * ones get up to `maxWorkers`.
   */
  #place(job: Job): boolean {
    const delay = this.#options.spawnDelayMs ?? 25;
    const now = performance.now();
    let behind: Worker | undefined;
    let spare: Worker | undefined;
    let noneFits = true;
    let allHeld = true;
    for (const w of this.#workers) {
      if (w.kind === job.kind) noneFits = false;
      if (w.busySince === null || now - w.busySince < delay) allHeld = false;
      if (w.jobs.length === 0) {
        if (w.kind === job.kind) {
          this.#send(w, job);
          return true;
        }
        spare ??= w;
      } else if (
        !behind &&
        w.started &&
        w.jobs.length < this.#depth &&
        w.kind === job.kind &&
        w.busySince !== null &&
        now - w.busySince < delay &&
        !w.jobs.some((j) => j.cancelled || j.withdrawn)
      ) {
        behind = w;
      }
    }
    if (behind) {
      this.#send(behind, job);
      return true;
    }
    if (spare && this.#workers.size >= this.#options.maxWorkers) {
      // An idle worker with another memory limit makes room (it held no task: all may be held now).
      this.#discard(spare);
      allHeld = [...this.#workers].every((w) => w.busySince !== null && now - w.busySince >= delay);
    }
    const mayGrow = this.#workers.size < this.#options.maxWorkers;
    // Workers that each finish a task in a millisecond serve a queue faster than a new one starts
    // (measured: one warm worker runs ~5,000 no-op tasks/s); only workers held by long tasks call for
    // another.
    if (mayGrow && (noneFits || (this.#starting === 0 && now - job.since >= delay && allHeld))) {
      this.#send(this.#spawn(job), job);
      return true;
    }
    return false;
  }

  /**
   * A place may have come free: waiting jobs take it in order. Once a job finds none, later jobs
   * with the same memory limit would not either.
   */
  #dispatch(): void {
    if (this.#pending.length === 0) return;
    const full = new Set<string>();
    for (let i = 0; i < this.#pending.length;) {
      const job = this.#pending[i]!;
      if (full.has(job.kind) || !this.#place(job)) {
        full.add(job.kind);
        i++;
      } else this.#pending.splice(i, 1);
    }
    this.#armGrowth();
  }

  /** While jobs wait and the pool may grow, looks again once the oldest has waited `spawnDelayMs`. */
  #armGrowth(): void {
    if (this.#growthTimer || this.#pending.length === 0) return;
    if (this.#workers.size >= this.#options.maxWorkers) return;
    const delay = this.#options.spawnDelayMs ?? 25;
    const waited = performance.now() - this.#pending[0]!.since;
    this.#growthTimer = setTimeout(
      () => {
        this.#growthTimer = undefined;
        this.#dispatch();
      },
      Math.max(1, delay - waited),
    );
    this.#growthTimer.unref();
  }

  #send(worker: Worker, job: Job): void {
    worker.jobs.push(job);
    job.task.signal?.addEventListener("abort", job.onAbort, { once: true });
    if (worker.jobs.length === 1) {
      clearTimeout(worker.idleTimer);
      this.#started(worker);
    } else {
      job.timer = setTimeout(() => this.#withdraw(worker, job), this.#options.spawnDelayMs ?? 25);
    }
    worker.child.send({ ...job.task.request, id: job.id } satisfies TaskFlowMessage);
  }

  /** The worker's first job has started: its clock runs from now. */
  #started(worker: Worker): void {
    const job = worker.jobs[0]!;
    clearTimeout(job.timer);
    job.timer = undefined;
    worker.busySince = performance.now();
    worker.stderr = "";
    if (job.cancelled) {
      // Stopped while its predecessor's reply was on its way: it runs, so it dies with its worker.
      this.#fail(worker, STOPPED);
      return;
    }
    job.withdrawn = false; // too late: the worker ignores the cancel
    const timeout = job.task.timeout;
    if (timeout)
      job.timer = setTimeout(
        () =>
          this.#fail(worker, {
            state: "failed",
            reason: `timed out after ${timeout}s (executionTimeout)`,
            retryable: true,
          }),
        timeout * 1000,
      );
  }

  #onMessage(worker: Worker, reply: TaskFlowReply): void {
    const at = worker.jobs.findIndex((j) => j.id === reply.id);
    if (at < 0) return;
    const job = worker.jobs[at]!;
    if (reply.kind === "log") {
      if (!job.cancelled) job.task.log.write(reply.text, reply.stream);
      return;
    }
    if (reply.kind === "lookup") return this.#lookup(worker, job, reply);
    if (reply.kind === "set-variable") return this.#setVariable(worker, job, reply);
    worker.jobs.splice(at, 1);
    this.#settle(job);
    if (reply.kind === "dropped") {
      if (!job.cancelled) job.resolve(null);
      return this.#dispatch();
    }
    if (reply.outcome === "success") job.resolve({ state: "success", value: reply.value });
    else {
      if (reply.stack) job.task.log.write(reply.stack + "\n", "stderr");
      if (reply.outcome === "skipped") job.resolve({ state: "skipped", reason: reply.message });
      else job.resolve({ state: "failed", reason: reply.message, retryable: reply.outcome !== "fail_now" });
    }
    if (worker.jobs.length > 0) this.#started(worker);
    else if (job.task.isolation === "process") this.#discard(worker);
    else this.#idle(worker);
    this.#dispatch();
  }

  #lookup(worker: Worker, job: Job, ask: { ask: number; what: LookupKind; key: string }): void {
    const lookup = job.task.lookup;
    if (!lookup) return answer(worker, ask.ask, { error: `no ${ask.what}s can be read here` });
    settleAsk(worker, ask.ask, lookup(ask.what, ask.key));
  }

  #setVariable(worker: Worker, job: Job, ask: { ask: number; variable: VariableWrite }): void {
    const write = job.task.setVariable;
    if (!write) return answer(worker, ask.ask, { error: "no variables can be written here" });
    settleAsk(worker, ask.ask, write(ask.variable));
  }

  #settle(job: Job): void {
    clearTimeout(job.timer);
    job.task.signal?.removeEventListener("abort", job.onAbort);
  }

  #idle(worker: Worker): void {
    worker.busySince = null;
    if (worker.gone) return;
    worker.idleTimer = setTimeout(() => this.#discard(worker), this.#options.idleTimeoutMs ?? 60_000);
    worker.idleTimer.unref();
  }

  #abort(job: Job): void {
    const worker = [...this.#workers].find((w) => w.jobs.includes(job));
    if (!worker) return;
    if (worker.jobs[0] === job) return this.#fail(worker, STOPPED);
    // Waiting: it fails now; the worker drops it (or, if it has just started, #started kills it).
    this.#settle(job);
    job.cancelled = true;
    job.resolve(STOPPED);
    worker.child.send({ kind: "cancel", id: job.id } satisfies TaskFlowMessage);
  }

  #withdraw(worker: Worker, job: Job): void {
    if (worker.gone || worker.jobs[0] === job || job.cancelled) return;
    job.withdrawn = true;
    worker.child.send({ kind: "cancel", id: job.id } satisfies TaskFlowMessage);
  }

  /** Kills the worker: its running task ends with `outcome`, the waiting ones are placed again. */
  #fail(worker: Worker, outcome: TaskFlowOutcome): void {
    if (!worker.gone) this.#discard(worker);
    const jobs = worker.jobs.splice(0);
    worker.busySince = null;
    jobs.forEach((job, i) => {
      this.#settle(job);
      if (!job.cancelled) job.resolve(i === 0 ? outcome : null);
    });
    this.#dispatch();
  }

  #spawn(job: Job): Worker {
    const { memoryLimit, kind } = job;
    const runAs = job.task.runAs;
    const { uid, gid } = runAs?.via === "setuid" ? runAs : { uid: undefined, gid: undefined };
    const child = fork(WORKER_URL, [], {
      execArgv: [
        `--max-old-space-size=${Math.max(16, Math.floor(memoryLimit))}`,
        "--disable-warning=ExperimentalWarning",
      ],
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      serialization: "json",
      // Its own process group: stopping a task kills whatever the task started too.
      detached: true,
      // The lifeline's token: the worker and all it starts die with this process (lifeline.ts).
      // User code: an allow-listed environment, never the service's keys (core/child-env.ts).
      env: userCodeEnv(process.env, { ...(runAs && identityEnv(runAs)), ...lifelineEnv() }),
      // Impersonated (run_as_user): started as that user, from a directory it may enter.
      uid,
      gid,
      ...(runAs ? { cwd: "/" } : {}),
    });
    if (child.pid !== undefined) registerGroup(child.pid);
    const worker: Worker = {
      child,
      memoryLimit,
      kind,
      jobs: [],
      stderr: "",
      started: false,
      busySince: null,
      gone: false,
    };
    this.#starting++;
    const ready = () => {
      if (worker.started) return;
      worker.started = true;
      this.#starting--;
    };
    child.once("message", ready);
    child.once("exit", ready);
    child.on("message", (reply: TaskFlowReply) => this.#onMessage(worker, reply));
    // A request sent as it dies: its exit settles the jobs. A worker that never started has no exit:
    // its jobs fail here (as another user, Node or Updraft's files may be out of its reach).
    child.on("error", (error: NodeJS.ErrnoException) => {
      if (child.pid !== undefined || worker.gone) return;
      ready();
      this.#workers.delete(worker);
      worker.gone = true;
      const as = runAs
        ? ` as the user "${runAs.user}" (it must be able to read and run ${process.execPath} and Updraft's files)`
        : "";
      this.#fail(worker, {
        state: "failed",
        reason: `could not start a TaskFlow worker${as}: ${error.message}`,
        retryable: true,
      });
    });
    // What reaches the worker's own pipes while a task runs (a child process it started with inherited
    // stdio) is that task's output; the stderr tail also explains a crash.
    const toRunning = (stream: "stdout" | "stderr") => (chunk: Buffer) => {
      const job = worker.busySince === null ? undefined : worker.jobs[0];
      if (job && !job.cancelled) job.task.log.write(chunk.toString(), stream);
    };
    child.stderr?.on("data", (chunk: Buffer) => {
      worker.stderr = (worker.stderr + chunk.toString()).slice(-STDERR_TAIL);
      toRunning("stderr")(chunk);
    });
    child.stdout?.on("data", toRunning("stdout"));
    child.once("exit", (code: number | null, signal: string | null) => {
      if (child.pid !== undefined) unregisterGroup(child.pid);
      this.#workers.delete(worker);
      worker.gone = true;
      // Replies and stderr written just before the exit may still be on their way.
      setTimeout(() => {
        if (worker.jobs.length > 0)
          this.#fail(worker, {
            state: "failed",
            reason: crashReason(worker.stderr, code, signal, memoryLimit),
            retryable: true,
          });
        else this.#dispatch();
      }, 20);
    });
    this.#workers.add(worker);
    return worker;
  }

  #discard(worker: Worker): void {
    clearTimeout(worker.idleTimer);
    worker.gone = true;
    this.#workers.delete(worker);
    killGroup(worker.child, "SIGKILL");
  }
}

/** TypeScript tasks impersonate by setuid only: a Node worker cannot be forked through sudo with its IPC channel. */
export function sudoUnsupported(user: string): string {
  return `run_as_user "${user}": a TypeScript task can run as another user only when the scheduler runs as root; use a bash task with sudo, or run the scheduler as root (see docs/security.md)`;
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
