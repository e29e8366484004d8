/**
 * A pool of TaskFlow workers. A worker runs the tasks of one DAG, with one memory limit (the heap size
 * fixed at its start) and as one user, for its whole life: tasks of different DAGs never share a
 * process, so what a task leaves in globals or process.env is seen by later tasks of its own DAG at
 * most. Workers are reused between their DAG's tasks, at most `maxWorkers` at once. A task that times
 * out, is stopped, or kills its worker (out of memory, process.exit, a crash) fails alone: its worker
 * is replaced and the pool carries on.
 *
 * Spare workers (`spareWorkers`, default 1). A new worker spends a few hundred milliseconds of CPU on
 * Node, the SDK and Node's type stripper before it can load a DAG file; a spare has done that and is
 * bound to no DAG yet. The first task of a DAG that has no worker takes it and loads only its DAG file
 * (milliseconds); once that task has answered, another spare starts in the background. Spares are
 * not counted in `maxWorkers` (they run no task); an unused spare exits after `idleTimeoutMs` like any
 * idle worker, and none starts again until a task takes a worker. Measured in ADR RN3.
 *
 * Making room. When `maxWorkers` are bound, a task whose DAG has no worker takes the place of an idle
 * worker of another DAG, least recently used first (tasks wait oldest first, so it comes before that
 * DAG's own waiting tasks), if that worker's DAG
 * - has no task waiting and the worker has been idle EVICT_GRACE_MS: a DAG's next tasks usually
 *   follow its last one within milliseconds (the scheduler examines the downstream at once), and a
 *   worker given away then must be started again for them;
 * - has tasks waiting but another worker too, or has held this one for TENURE_MS: a DAG with a long
 *   queue keeps a worker, but not every worker, and not for ever (another DAG waits at most about
 *   TENURE_MS plus a task).
 *
 * Pipelining (`depth`, default 2): when no worker of the task's DAG is idle, the pool may hand a busy
 * one a second request, which the worker starts as soon as its current task has answered, instead of
 * sitting idle while the reply travels to the scheduler and the next request comes back. Measured on
 * 2 cores (bench/scheduler.ts, fan-out of 1,000 no-op tasks, 20 runs each, alternated): median 945
 * TI/s without, 1,143 with depth 2 (one worker: a second one measured worse). Deeper (3, 8, 32) showed
 * no clear further gain and holds more tasks behind a slow one. Tasks that find no place wait in one
 * queue, oldest first, and take a place as it comes free.
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
import type { OutletEventsWire } from "../sdk/assets.ts";
import type { TriggerSpec } from "../sdk/triggers.ts";
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
import { outcomeOf } from "./taskflow-call.ts";
import { identityEnv, type RunAs } from "./impersonation.ts";

const WORKER_URL = new URL(
  `./taskflow-worker${import.meta.url.endsWith(".ts") ? ".ts" : ".js"}`,
  import.meta.url,
);
const STDERR_TAIL = 4000;

/** An idle worker is not given to another DAG before this (see the header). */
const EVICT_GRACE_MS = 100;
/** A DAG's only worker may go to a DAG that has none, between two of its tasks, after this. */
const TENURE_MS = 2_000;

export interface TaskFlowPoolOptions {
  /** Most workers bound to DAGs at once (spares not counted). */
  maxWorkers: number;
  /** MiB, for tasks that set no memoryLimit. */
  defaultMemoryLimit: number;
  /** An idle worker exits after this long, so an idle installation holds no workers. */
  idleTimeoutMs?: number;
  /** How long a task waits for a busy worker before the pool starts another (default 25 ms). */
  spawnDelayMs?: number;
  /** Requests a worker holds at once: the running one and those waiting behind it (default 2). */
  depth?: number;
  /** Started workers bound to no DAG yet, for DAGs that have no worker (default 1; 0: none). */
  spareWorkers?: number;
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
  /** "process": this try gets a fresh worker of its own, gone when it ends; default: its DAG's worker. */
  isolation?: "dag" | "process";
}

export type TaskFlowOutcome =
  | { state: "success"; value: unknown; outletEvents?: OutletEventsWire }
  | { state: "deferred"; trigger: TriggerSpec; timeout: number | null }
  | { state: "skipped"; reason: string }
  | { state: "failed"; reason: string; retryable: boolean };

/**
 * What the task runner runs TypeScript tasks with: this pool of worker processes, or `dag.test()`'s
 * runner that calls them in the DAG file's own process (taskflow-in-process.ts).
 */
export interface TaskFlowRunner {
  run(task: TaskFlowRun): Promise<TaskFlowOutcome>;
  close(): Promise<void>;
}

/** What the pool holds, for tests and diagnostics. */
export interface TaskFlowWorkerInfo {
  pid: number | undefined;
  /** The DAG it runs tasks of, or null: a spare. */
  dagId: string | null;
  /** Node and the SDK are loaded. */
  warm: boolean;
  busy: boolean;
}

/** What a worker is started with, the memory limit and user: a spare takes only tasks that match. */
function baseKind(memoryLimit: number, runAs: RunAs | undefined): string {
  return `${memoryLimit}${runAs ? `@${runAs.user}` : ""}`;
}

/**
 * Which worker may run a task: one started like it (baseKind) and bound to its DAG; a try isolated in
 * a process of its own shares with nobody.
 */
function workerKind(task: TaskFlowRun, base: string, jobId: number): string {
  return task.isolation === "process" ? `${base}!${jobId}` : `${base}#${task.request.dagId}`;
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
  /** baseKind: which spares may take it. */
  base: string;
  /** workerKind: which bound workers may run it. */
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
  runAs: RunAs | undefined;
  /** How it was started (baseKind). */
  base: string;
  /** What it runs, for good (Job.kind); null while it is a spare. */
  kind: string | null;
  dagId: string | null;
  /** Requests sent and not answered yet, in order: the first one runs, the others wait. */
  jobs: Job[];
  stderr: string;
  /** Node and the SDK are loaded (it said "ready"). */
  warm: boolean;
  /** It has answered a task (its DAG module is loaded). */
  started: boolean;
  /** When its running task started (null when idle). */
  busySince: number | null;
  /** When it last became idle (or was started). */
  idleSince: number;
  /** When it was bound to its DAG. */
  boundAt: number;
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

export class TaskFlowPool implements TaskFlowRunner {
  readonly #options: TaskFlowPoolOptions;
  readonly #depth: number;
  readonly #delay: number;
  /** Workers bound to a DAG (or an isolated try). */
  readonly #workers = new Set<Worker>();
  /** Workers bound to nothing yet, oldest first. */
  readonly #spares: Worker[] = [];
  /** Jobs waiting for a place, oldest first. */
  readonly #pending: Job[] = [];
  #lookTimer?: NodeJS.Timeout;
  /** When a waiting job may find a place by time alone (a worker held long enough, a grace ended). */
  #lookAt = Infinity;
  /**
   * A task whose DAG has no worker found no room (as of the last look): a worker that has served its
   * DAG for TENURE_MS takes no request behind its running one, so that it comes free.
   */
  #roomWanted = false;
  /** When #lookTimer fires. */
  #armedAt = Infinity;
  #nextId = 1;
  #closed = false;

  constructor(options: TaskFlowPoolOptions) {
    this.#options = options;
    this.#depth = Math.max(1, options.depth ?? 2);
    this.#delay = options.spawnDelayMs ?? 25;
  }

  /** Workers bound to a DAG (at most maxWorkers). */
  get size(): number {
    return this.#workers.size;
  }

  /** Requests waiting in a worker behind its running task. */
  get queued(): number {
    let n = 0;
    for (const w of this.#workers) n += Math.max(0, w.jobs.length - 1);
    return n;
  }

  /** Every worker: those bound to a DAG, then the spares. */
  workers(): TaskFlowWorkerInfo[] {
    return [...this.#workers, ...this.#spares].map((w) => ({
      pid: w.child.pid,
      dagId: w.dagId,
      warm: w.warm,
      busy: w.jobs.length > 0,
    }));
  }

  async run(task: TaskFlowRun): Promise<TaskFlowOutcome> {
    const memoryLimit = task.memoryLimit ?? this.#options.defaultMemoryLimit;
    const base = baseKind(memoryLimit, task.runAs);
    const since = performance.now();
    for (let again = false; ; again = true) {
      if (task.signal?.aborted) return STOPPED;
      const outcome = await new Promise<TaskFlowOutcome | null>((resolve, reject) => {
        if (this.#closed) return reject(new Error("the TaskFlow pool is closed"));
        const id = this.#nextId++;
        const job: Job = {
          id,
          task,
          memoryLimit,
          base,
          kind: workerKind(task, base, id),
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
        this.#arm();
      });
      if (outcome) return outcome;
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#lookTimer);
    for (const job of this.#pending.splice(0)) job.reject(new Error("the TaskFlow pool is closed"));
    for (const worker of [...this.#workers, ...this.#spares]) this.#discard(worker);
  }

  /**
   * Sends the job to an idle worker of its DAG, behind a task that has just started there
   * (pipelining), or to a worker of its own (a spare, or a new one); false when it must wait. Starting
   * a worker costs a few hundred milliseconds of CPU, so a DAG gets a second worker only when a task
   * has waited `spawnDelayMs` for a free one and none of its workers is still starting: short tasks
   * share a few workers, long ones get up to `maxWorkers`.
   */
  #place(job: Job): boolean {
    const now = performance.now();
    let behind: Worker | undefined;
    let own = 0;
    let starting = false;
    /** When every worker of the DAG has been busy `spawnDelayMs` (it may grow then). */
    let allHeldAt = job.since + this.#delay;
    for (const w of this.#workers) {
      if (w.kind !== job.kind) continue;
      own++;
      if (w.jobs.length === 0) {
        this.#send(w, job);
        return true;
      }
      if (!w.started) starting = true;
      const heldAt = (w.busySince ?? now) + this.#delay;
      allHeldAt = Math.max(allHeldAt, heldAt);
      if (
        !behind &&
        heldAt > now &&
        w.started &&
        !(this.#roomWanted && now - w.boundAt >= TENURE_MS) &&
        w.jobs.length < this.#depth &&
        !w.jobs.some((j) => j.cancelled || j.withdrawn)
      ) {
        behind = w;
      }
    }
    if (behind) {
      this.#send(behind, job);
      return true;
    }
    // Workers that each finish a task in a millisecond serve a queue faster than a new one starts
    // (measured: one warm worker runs ~5,000 no-op tasks/s); only workers held by long tasks call for
    // another.
    if (own > 0 && (starting || allHeldAt > now)) {
      if (!starting) this.#lookBy(allHeldAt);
      return false;
    }
    if (!this.#room(job, now)) {
      if (own === 0) this.#roomWanted = true;
      return false;
    }
    this.#bind(this.#takeSpare(job.base) ?? this.#spawn(job.memoryLimit, job.task.runAs), job);
    return true;
  }

  /** Below maxWorkers, or an idle worker of another DAG made room (see the header). */
  #room(job: Job, now: number): boolean {
    if (this.#workers.size < this.#options.maxWorkers) return true;
    const waiting = new Set(this.#pending.map((j) => j.kind));
    const holders = new Map<string | null, number>();
    for (const w of this.#workers) holders.set(w.kind, (holders.get(w.kind) ?? 0) + 1);
    let victim: Worker | undefined;
    for (const w of this.#workers) {
      if (w.jobs.length > 0 || w.kind === job.kind) continue;
      const freeAt = !waiting.has(w.kind!)
        ? w.idleSince + EVICT_GRACE_MS
        : holders.get(w.kind)! >= 2
          ? now
          : w.boundAt + TENURE_MS;
      if (freeAt > now) this.#lookBy(freeAt);
      else if (!victim || w.idleSince < victim.idleSince) victim = w;
    }
    if (victim) this.#discard(victim);
    return victim !== undefined;
  }

  /**
   * A place may have come free: waiting jobs take it in order. Once a job finds none, later jobs of
   * the same DAG would not either.
   */
  #dispatch(): void {
    if (this.#pending.length === 0) return;
    this.#roomWanted = false;
    const full = new Set<string>();
    for (let i = 0; i < this.#pending.length;) {
      const job = this.#pending[i]!;
      if (full.has(job.kind) || !this.#place(job)) {
        full.add(job.kind);
        i++;
      } else this.#pending.splice(i, 1);
    }
    this.#arm();
  }

  /** A waiting job may find a place at `at` without anything else happening: look again then. */
  #lookBy(at: number): void {
    this.#lookAt = Math.min(this.#lookAt, at);
  }

  /** While jobs wait, looks again when one may find a place by time alone (#lookBy). */
  #arm(): void {
    const at = this.#pending.length > 0 ? this.#lookAt : Infinity;
    this.#lookAt = Infinity;
    if (at >= this.#armedAt) return;
    clearTimeout(this.#lookTimer);
    this.#armedAt = at;
    const look = () => {
      this.#armedAt = Infinity;
      this.#dispatch();
    };
    this.#lookTimer = setTimeout(look, Math.max(1, at - performance.now()));
    this.#lookTimer.unref();
  }

  #bind(worker: Worker, job: Job): void {
    worker.kind = job.kind;
    worker.dagId = job.task.request.dagId;
    worker.boundAt = performance.now();
    clearTimeout(worker.idleTimer);
    this.#workers.add(worker);
    this.#send(worker, job);
  }

  /** A spare started like the job's worker must be (memory limit and user), the warmest first. */
  #takeSpare(base: string): Worker | undefined {
    let at = -1;
    this.#spares.forEach((w, i) => {
      if (w.base === base && (at < 0 || (w.warm && !this.#spares[at]!.warm))) at = i;
    });
    return at < 0 ? undefined : this.#spares.splice(at, 1)[0];
  }

  /**
   * Keeps `spareWorkers` spares started like this worker, which has just answered its first task (so
   * the spare's start competes with no first task); spares started otherwise make way, oldest first.
   */
  #replenish(like: Worker): void {
    const max = this.#options.spareWorkers ?? 1;
    if (this.#closed || max <= 0) return;
    let same = this.#spares.filter((w) => w.base === like.base).length;
    for (; same < max; same++) {
      const other = this.#spares.find((w) => w.base !== like.base);
      if (this.#spares.length >= max && other) this.#discard(other);
      const spare = this.#spawn(like.memoryLimit, like.runAs);
      this.#spares.push(spare);
      this.#idle(spare);
    }
  }

  #send(worker: Worker, job: Job): void {
    worker.jobs.push(job);
    job.task.signal?.addEventListener("abort", job.onAbort, { once: true });
    if (worker.jobs.length === 1) {
      clearTimeout(worker.idleTimer);
      this.#started(worker);
    } else {
      job.timer = setTimeout(() => this.#withdraw(worker, job), this.#delay);
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
    if (reply.kind === "ready") {
      worker.warm = true;
      return;
    }
    const at = worker.jobs.findIndex((j) => j.id === reply.id);
    if (at < 0) return;
    if (!worker.started) {
      worker.started = true;
      this.#replenish(worker);
    }
    const job = worker.jobs[at]!;
    if (reply.kind === "log") {
      if (!job.cancelled) job.task.log.write(reply.text, reply.stream);
      return;
    }
    if (reply.kind === "lookup") return this.#lookup(worker, job, reply);
    if (reply.kind === "set-variable") return this.#setVariable(worker, job, reply);
    if (reply.kind === "dropped") {
      worker.jobs.splice(at, 1);
      this.#settle(job);
      if (!job.cancelled) job.resolve(null);
      return this.#dispatch();
    }
    // What a child process of the task wrote to the worker's pipes before the task returned may be
    // read after this reply (another file descriptor): the task ends once this poll phase is over.
    setImmediate(() => this.#finish(worker, job, reply));
  }

  #finish(worker: Worker, job: Job, reply: Extract<TaskFlowReply, { kind: "result" }>): void {
    const at = worker.jobs.indexOf(job);
    if (at < 0) return; // settled meanwhile (its worker died)
    worker.jobs.splice(at, 1);
    this.#settle(job);
    job.resolve(outcomeOf(reply, job.task.log));
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
    worker.idleSince = performance.now();
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

  /** Starts a worker, bound to nothing yet (the caller binds it or keeps it as a spare). */
  #spawn(memoryLimit: number, runAs: RunAs | undefined): Worker {
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
    const now = performance.now();
    const worker: Worker = {
      child,
      memoryLimit,
      runAs,
      base: baseKind(memoryLimit, runAs),
      kind: null,
      dagId: null,
      jobs: [],
      stderr: "",
      warm: false,
      started: false,
      busySince: null,
      idleSince: now,
      boundAt: now,
      gone: false,
    };
    child.on("message", (reply: TaskFlowReply) => this.#onMessage(worker, reply));
    // A request sent as it dies: its exit settles the jobs. A worker that never started has no exit:
    // its jobs fail here (as another user, Node or Updraft's files may be out of its reach).
    child.on("error", (error: NodeJS.ErrnoException) => {
      if (child.pid !== undefined || worker.gone) return;
      this.#forget(worker);
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
      this.#forget(worker);
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
    return worker;
  }

  /** The worker takes no more requests (its jobs are settled by the caller). */
  #forget(worker: Worker): void {
    clearTimeout(worker.idleTimer);
    worker.gone = true;
    this.#workers.delete(worker);
    const at = this.#spares.indexOf(worker);
    if (at >= 0) this.#spares.splice(at, 1);
  }

  #discard(worker: Worker): void {
    this.#forget(worker);
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
