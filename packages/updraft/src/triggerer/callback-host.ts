/**
 * The triggerer's process for DAG and deadline callbacks: custom-worker.ts again, but a process of
 * its own, so a callback that must be stopped (it ran past `[core] callback_timeout` and does not
 * yield: a synchronous loop) is stopped with its process without failing the custom triggers of
 * the other one. Started with the environment user code gets (core/child-env.ts) and the lifeline;
 * its getVariable()/getConnection() are answered here through `lookup`.
 */
import { fork, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { userCodeEnv } from "../core/child-env.ts";
import { Masker } from "../logs/masker.ts";
import type { Logger } from "../logging.ts";
import { lifelineEnv } from "../runner/lifeline.ts";
import type { LookupKind } from "../runner/taskflow-protocol.ts";
import type { CallbackOutcome } from "../sdk/callbacks.ts";
import type { CallbackJob, CustomTriggerMessage, CustomTriggerReply } from "./custom-protocol.ts";

const WORKER_URL = new URL(
  `./custom-worker${import.meta.url.endsWith(".ts") ? ".ts" : ".js"}`,
  import.meta.url,
);

/** How long past its callback limit a job may go without a sign of progress before its process is stopped. */
export const OVERRUN_MARGIN_MS = 5_000;

export type Lookup = (what: LookupKind, key: string) => Promise<Record<string, unknown> | undefined>;

interface Pending {
  /** The process running it: only its end fails the job. */
  child: ChildProcess;
  resolve: (outcomes: CallbackOutcome[]) => void;
  reject: (error: Error) => void;
  /** Stops the process when the job makes no progress for its limit plus the margin. */
  watchdog: ReturnType<typeof setTimeout>;
  arm: () => void;
}

export class CallbackProcess {
  #child: ChildProcess | null = null;
  readonly #pending = new Map<number, Pending>();
  /** Secrets the callbacks were given (connection passwords, secret variables): masked in what is logged and stored. */
  readonly #masker = new Masker();
  readonly #o: { dagsFolder: string; log: Logger; memoryMb: number; lookup: Lookup };

  constructor(o: { dagsFolder: string; log: Logger; memoryMb: number; lookup: Lookup }) {
    this.#o = o;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Runs the job's callbacks: their outcomes, or a rejection (the DAG would not load, the process died). */
  run(job: CallbackJob): Promise<CallbackOutcome[]> {
    return new Promise((resolve, reject) => {
      const child = this.#ensure();
      const arm = () => {
        clearTimeout(pending.watchdog);
        pending.watchdog = setTimeout(() => this.#overrun(child, job), job.timeoutMs + OVERRUN_MARGIN_MS);
      };
      const pending: Pending = { child, resolve, reject, watchdog: setTimeout(() => {}, 0), arm };
      this.#pending.set(job.id, pending);
      arm();
      this.#send(child, { kind: "callback", ...job });
    });
  }

  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = null;
    if (!child || child.exitCode !== null || child.pid === undefined) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
    await exited;
    clearTimeout(timer);
  }

  /** A callback ran past its limit without yielding: its process is killed (the next job starts another). */
  #overrun(child: ChildProcess, job: CallbackJob): void {
    this.#o.log.error(
      { dagId: job.dagId, event: job.event, pid: child.pid, timeoutMs: job.timeoutMs },
      "a callback ran past [core] callback_timeout without yielding: stopping its process",
    );
    this.#failAll(
      child,
      `a callback ran past [core] callback_timeout (${job.timeoutMs / 1000} s): its process was stopped`,
    );
    child.kill("SIGKILL");
  }

  /** The process is gone (or never started): every job it had fails with `why`. */
  #failAll(child: ChildProcess, why: string): void {
    if (this.#child === child) this.#child = null;
    for (const [id, pending] of this.#pending) {
      if (pending.child !== child) continue;
      clearTimeout(pending.watchdog);
      this.#pending.delete(id);
      pending.reject(new Error(why));
    }
  }

  #ensure(): ChildProcess {
    if (this.#child) return this.#child;
    const child = fork(WORKER_URL, [this.#o.dagsFolder], {
      execArgv: [`--max-old-space-size=${this.#o.memoryMb}`, "--disable-warning=ExperimentalWarning"],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      serialization: "json",
      // User code: an allow-listed environment, never the service's keys; the lifeline's token.
      env: userCodeEnv(process.env, lifelineEnv()),
      // A test run's DAGs folder may not exist (bundled examples): a missing cwd fails the spawn.
      cwd: existsSync(this.#o.dagsFolder) ? this.#o.dagsFolder : process.cwd(),
    });
    this.#child = child;
    this.#o.log.info({ pid: child.pid }, "started the callback process");
    child.on("message", (reply: CustomTriggerReply) => this.#receive(child, reply));
    // A process that could not start emits "error" and no "exit": its jobs fail here too.
    child.on("error", (error) => {
      this.#o.log.error({ err: error }, "the callback process failed");
      this.#failAll(child, `the callback process failed: ${error.message}`);
    });
    child.on("exit", (code, signal) =>
      this.#failAll(
        child,
        `the callback process exited (${signal ?? `code ${code}`}) while callbacks ran (one ran past [core] callback_timeout, or crashed it)`,
      ),
    );
    return child;
  }

  #receive(child: ChildProcess, reply: CustomTriggerReply): void {
    if (reply.kind === "lookup") {
      this.#o.lookup(reply.what, reply.key).then(
        (value) => {
          this.#remember(value);
          this.#send(child, { kind: "lookup-answer", ask: reply.ask, value });
        },
        (error: unknown) =>
          this.#send(child, {
            kind: "lookup-answer",
            ask: reply.ask,
            error: (error as Error).message ?? String(error),
          }),
      );
      return;
    }
    if (reply.kind !== "callback-log" && reply.kind !== "callback-done" && reply.kind !== "callback-error")
      return;
    const pending = this.#pending.get(reply.id);
    if (!pending) return;
    if (reply.kind === "callback-log") {
      this.#o.log.info({ request: reply.id }, this.#masker.mask(reply.line));
      return pending.arm();
    }
    clearTimeout(pending.watchdog);
    this.#pending.delete(reply.id);
    const mask = (text: string | undefined) => (text === undefined ? text : this.#masker.mask(text));
    if (reply.kind === "callback-done")
      pending.resolve(reply.outcomes.map((o) => ({ ...o, error: mask(o.error) }) as CallbackOutcome));
    else pending.reject(new Error(mask(reply.error)));
  }

  /** A looked-up connection's password or a secret variable's value is masked from now on. */
  #remember(value: Record<string, unknown> | undefined): void {
    if (!value) return;
    if (typeof value.password === "string") this.#masker.add(value.password);
    if (value.is_secret === true && typeof value.value === "string") this.#masker.add(value.value);
  }

  #send(child: ChildProcess, message: CustomTriggerMessage): void {
    if (child.connected) child.send(message);
  }
}
