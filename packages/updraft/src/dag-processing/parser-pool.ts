/**
 * A pool of parsing child processes. Each file gets a time limit; a child that hangs is killed, one
 * that crashes or runs out of memory is replaced, and either way the file becomes an import error
 * while the rest carry on. Children are replaced after `filesPerProcess` files to bound memory.
 */
import { fork, type ChildProcess } from "node:child_process";
import type { SerializeDefaults } from "../sdk/index.ts";
import type { DagFile } from "./discover.ts";
import type { ParseReply, ParseRequest } from "./protocol.ts";
import { userCodeEnv } from "../core/child-env.ts";

export interface ParserPoolOptions {
  processes: number;
  timeoutMs: number;
  maxMemoryMb: number;
  filesPerProcess: number;
  defaults: SerializeDefaults;
}

const WORKER_URL = new URL(
  `./parse-worker${import.meta.url.endsWith(".ts") ? ".ts" : ".js"}`,
  import.meta.url,
);
const STDERR_TAIL = 4000;

interface Slot {
  child: ChildProcess;
  parsed: number;
  stderr: string;
}

export async function parseFiles(
  files: DagFile[],
  options: ParserPoolOptions,
  onResult: (file: DagFile, reply: ParseReply) => Promise<void> | void,
): Promise<void> {
  const queue = [...files];
  const workers = Math.max(1, Math.min(options.processes, queue.length));
  await Promise.all(Array.from({ length: workers }, () => drain(queue, options, onResult)));
}

async function drain(
  queue: DagFile[],
  options: ParserPoolOptions,
  onResult: (file: DagFile, reply: ParseReply) => Promise<void> | void,
): Promise<void> {
  let slot: Slot | undefined;
  let id = 0;
  try {
    for (let file = queue.shift(); file; file = queue.shift()) {
      if (!slot || !slot.child.connected || slot.parsed >= options.filesPerProcess) {
        if (slot) stop(slot);
        slot = spawn(options);
      }
      const request: ParseRequest = {
        id: id++,
        path: file.path,
        fileloc: file.fileloc,
        contentHash: file.contentHash,
        defaults: options.defaults,
      };
      const outcome = await send(slot, request, options);
      slot.parsed++;
      if (outcome.kind !== "reply") {
        stop(slot);
        slot = undefined;
      }
      await onResult(file, outcome.kind === "reply" ? outcome.reply : failure(request, outcome, options));
    }
  } finally {
    if (slot) stop(slot);
  }
}

function spawn(options: ParserPoolOptions): Slot {
  const child = fork(WORKER_URL, [], {
    execArgv: [`--max-old-space-size=${options.maxMemoryMb}`, "--disable-warning=ExperimentalWarning"],
    stdio: ["ignore", "ignore", "pipe", "ipc"],
    serialization: "json",
    // DAG files are user code: an allow-listed environment, never the service's keys.
    env: userCodeEnv(process.env),
  });
  const slot: Slot = { child, parsed: 0, stderr: "" };
  child.stderr?.on("data", (chunk: Buffer) => {
    slot.stderr = (slot.stderr + chunk.toString()).slice(-STDERR_TAIL);
  });
  return slot;
}

function stop(slot: Slot): void {
  slot.child.removeAllListeners();
  if (slot.child.exitCode === null && slot.child.signalCode === null) slot.child.kill("SIGKILL");
}

type Outcome =
  | { kind: "reply"; reply: ParseReply }
  | { kind: "timeout"; elapsedMs: number }
  | { kind: "exit"; code: number | null; signal: string | null; stderr: string; elapsedMs: number };

function send(slot: Slot, request: ParseRequest, options: ParserPoolOptions): Promise<Outcome> {
  const started = performance.now();
  slot.stderr = "";
  return new Promise((resolve) => {
    const done = (outcome: Outcome) => {
      clearTimeout(timer);
      slot.child.off("message", onMessage);
      slot.child.off("exit", onExit);
      resolve(outcome);
    };
    const onMessage = (reply: ParseReply) => {
      if (reply.id === request.id) done({ kind: "reply", reply });
    };
    const onExit = (code: number | null, signal: string | null) =>
      // Give the stderr pipe a moment to deliver V8's out-of-memory report.
      setTimeout(
        () =>
          done({ kind: "exit", code, signal, stderr: slot.stderr, elapsedMs: performance.now() - started }),
        20,
      );
    const timer = setTimeout(
      () => done({ kind: "timeout", elapsedMs: performance.now() - started }),
      options.timeoutMs,
    );
    slot.child.on("message", onMessage);
    slot.child.on("exit", onExit);
    slot.child.send(request);
  });
}

function failure(
  request: ParseRequest,
  outcome: Exclude<Outcome, { kind: "reply" }>,
  options: ParserPoolOptions,
): ParseReply {
  const reply: ParseReply = { id: request.id, dags: [], errors: [], durationMs: outcome.elapsedMs };
  if (outcome.kind === "timeout") {
    const seconds = options.timeoutMs / 1000;
    reply.errors.push({
      message: `${request.fileloc} did not finish loading within ${seconds}s (core.dagbag_import_timeout) and was stopped: does it wait for something (a network call, a never-settling promise, a loop) at import time?`,
      stacktrace: null,
    });
  } else if (/heap out of memory|Reached heap limit|allocation failed/i.test(outcome.stderr)) {
    reply.errors.push({
      message: `${request.fileloc} ran out of memory while loading (limit ${options.maxMemoryMb} MiB, dag_processor.max_memory_mb): build less at import time, or raise the limit`,
      stacktrace: outcome.stderr.trim() || null,
    });
  } else {
    const how = outcome.signal ? `was killed by ${outcome.signal}` : `exited with code ${outcome.code}`;
    reply.errors.push({
      message: `the process loading ${request.fileloc} ${how} before it finished (does the file call process.exit?)`,
      stacktrace: outcome.stderr.trim() || null,
    });
  }
  return reply;
}
