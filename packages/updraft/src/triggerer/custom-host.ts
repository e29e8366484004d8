/**
 * The triggerer's side of its custom-trigger process (custom-worker.ts): user code never runs in the
 * triggerer, which holds the database URL and the installation's keys. One child per triggerer,
 * started when the first custom trigger is claimed, with the environment user code gets
 * (core/child-env.ts) and the task lifeline (it dies with the triggerer, even on kill -9).
 */
import { fork, type ChildProcess } from "node:child_process";
import { userCodeEnv } from "../core/child-env.ts";
import type { Logger } from "../logging.ts";
import { lifelineEnv } from "../runner/lifeline.ts";
import type { JsonValue } from "../sdk/json.ts";
import type { CustomTriggerMessage, CustomTriggerReply } from "./custom-protocol.ts";

const WORKER_URL = new URL(
  `./custom-worker${import.meta.url.endsWith(".ts") ? ".ts" : ".js"}`,
  import.meta.url,
);

interface Pending {
  resolve: (event: JsonValue) => void;
  reject: (error: Error) => void;
}

export class CustomTriggers {
  #child: ChildProcess | null = null;
  readonly #pending = new Map<number, Pending>();
  readonly #dagsFolder: string;
  readonly #log: Logger;
  readonly #memoryMb: number;

  constructor(o: { dagsFolder: string; log: Logger; memoryMb: number }) {
    this.#dagsFolder = o.dagsFolder;
    this.#log = o.log;
    this.#memoryMb = o.memoryMb;
  }

  /** Runs the trigger in the child: its first event, or a rejection (it threw, ended, its process died). */
  run(
    id: number,
    classpath: string,
    kwargs: Record<string, JsonValue>,
    signal: AbortSignal,
  ): Promise<JsonValue> {
    return new Promise((resolve, reject) => {
      const child = this.#ensure();
      this.#pending.set(id, { resolve, reject });
      this.#send(child, { kind: "add", id, classpath, kwargs });
      signal.addEventListener(
        "abort",
        () => {
          if (!this.#pending.delete(id)) return;
          if (this.#child) this.#send(this.#child, { kind: "cancel", id });
          reject(signal.reason as Error);
        },
        { once: true },
      );
    });
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = null;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
    await exited;
    clearTimeout(timer);
  }

  #ensure(): ChildProcess {
    if (this.#child) return this.#child;
    const child = fork(WORKER_URL, [this.#dagsFolder], {
      execArgv: [`--max-old-space-size=${this.#memoryMb}`, "--disable-warning=ExperimentalWarning"],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      serialization: "json",
      // User code: an allow-listed environment, never the service's keys; the lifeline's token.
      env: userCodeEnv(process.env, lifelineEnv()),
      cwd: this.#dagsFolder,
    });
    this.#child = child;
    this.#log.info({ pid: child.pid }, "started the custom-trigger process");
    child.on("message", (reply: CustomTriggerReply) => {
      if (reply.kind !== "event" && reply.kind !== "error") return;
      const pending = this.#pending.get(reply.id);
      if (!pending) return;
      this.#pending.delete(reply.id);
      if (reply.kind === "event") pending.resolve(reply.event);
      else pending.reject(new Error(reply.error));
    });
    child.on("error", (error) => this.#log.error({ err: error }, "the custom-trigger process failed"));
    child.on("exit", (code, signal) => {
      if (this.#child === child) this.#child = null;
      if (this.#pending.size === 0) return;
      // Its triggers fail: a trigger that crashed the process would crash the next one too.
      const why = `the custom-trigger process exited (${signal ?? `code ${code}`}) while the trigger ran`;
      this.#log.error({ code, signal, triggers: this.#pending.size }, why);
      for (const [, pending] of this.#pending) pending.reject(new Error(why));
      this.#pending.clear();
    });
    return child;
  }

  #send(child: ChildProcess, message: CustomTriggerMessage): void {
    if (child.connected) child.send(message);
  }
}
