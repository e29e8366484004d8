/**
 * A TaskFlow worker: a reusable child process that runs TypeScript tasks of one DAG, one at a time.
 * It loads Node, the SDK and the type stripper first and says "ready" (it may wait so, bound to no DAG,
 * as a spare); the first request binds it to that request's DAG for good. Each DAG module is loaded
 * once per version, so a task starts in milliseconds. Output during a task (console,
 * process.stdout/stderr, child processes that inherit stdio) goes to that task's log. The pool may
 * send a request while another runs: it waits here and starts as soon as the current one has
 * answered (see taskflow-pool.ts), unless the pool cancels it first. A request with `callbacks` runs
 * the task's callbacks for one event instead of the task (executor/task-callbacks.ts); what the
 * worker says about them goes to the try's log as the runner's lines.
 */
import { enableCompileCache, stripTypeScriptTypes } from "node:module";
import { format } from "node:util";
import { pathToFileURL } from "node:url";
import { registerDagModuleHooks, SDK_ENTRY_URL } from "../dag-processing/module-hooks.ts";
import { callTask, callTaskCallbacks, findDag, taskFnOf } from "./taskflow-call.ts";
import type {
  LookupKind,
  TaskFlowMessage,
  TaskFlowReply,
  TaskFlowRequest,
  VariableWrite,
} from "./taskflow-protocol.ts";

// V8's compiled code for the SDK and its libraries is kept on disk: a new worker starts faster.
enableCompileCache();
registerDagModuleHooks();

let current: number | null = null;
const send = (reply: TaskFlowReply) => process.send?.(reply);

/**
 * What every DAG file needs, loaded before any is: the "updraft" entry a DAG file imports and Node's
 * type stripper (its first use costs ~40 ms and ~19 MB). A spare bound to a DAG then loads only the
 * DAG file.
 */
const warm = (async () => {
  await import(SDK_ENTRY_URL);
  stripTypeScriptTypes("");
  send({ kind: "ready" });
})().catch((error: unknown) => {
  // Its task fails with this (the pool reads the stderr tail of a worker that exits).
  process.stderr.write(`the TaskFlow worker could not load Updraft: ${format(error)}\n`);
  process.exit(1);
});

/** The DAG this worker runs tasks of, from its first request on (the pool never sends another). */
let boundTo: string | null = null;

for (const [method, stream] of [
  ["log", "stdout"],
  ["info", "stdout"],
  ["debug", "stdout"],
  ["warn", "stderr"],
  ["error", "stderr"],
] as const) {
  console[method] = (...args: unknown[]) => {
    if (current !== null) send({ id: current, kind: "log", stream, text: format(...args) + "\n" });
  };
}

// So does what the task writes to process.stdout and process.stderr itself. (A child process that
// inherits this worker's stdio writes to its pipes: the pool gives that to the running task's log.)
for (const stream of ["stdout", "stderr"] as const) {
  const target = process[stream];
  const write = target.write.bind(target);
  target.write = ((chunk: unknown, ...rest: unknown[]) => {
    if (current === null) return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
    const text = typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString();
    send({ id: current, kind: "log", stream, text });
    const callback = rest.find((r) => typeof r === "function") as (() => void) | undefined;
    callback?.();
    return true;
  }) as typeof target.write;
}

async function loadDag(request: TaskFlowRequest) {
  const url = `${pathToFileURL(request.path).href}?v=${request.version}`;
  const dag = findDag((await import(url)) as Record<string, unknown>, request.dagId);
  if (!dag) throw new Error(`${request.path} no longer exports dag "${request.dagId}"`);
  return dag;
}

/** Lookups and writes asked by the running task, answered by the pool (getVariable, setVariable, ...). */
const asked = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
let nextAsk = 1;

function ask(message: (n: number) => TaskFlowReply): Promise<unknown> {
  const n = nextAsk++;
  return new Promise((resolve, reject) => {
    asked.set(n, { resolve, reject });
    send(message(n));
  });
}

const lookup = (id: number, what: LookupKind, key: string) =>
  ask((n) => ({ id, kind: "lookup", ask: n, what, key }));
const write = (id: number, variable: VariableWrite) =>
  ask((n) => ({ id, kind: "set-variable", ask: n, variable })) as Promise<{ shadowedBy: string | null }>;

async function run(request: TaskFlowRequest): Promise<TaskFlowReply> {
  boundTo ??= request.dagId;
  if (request.dagId !== boundTo) {
    const message = `this TaskFlow worker runs tasks of dag "${boundTo}" only, not of "${request.dagId}"`;
    return { id: request.id, kind: "result", outcome: "failed", message, stack: null };
  }
  current = request.id;
  const io = {
    context: request.context,
    lookup: (what: LookupKind, key: string) => lookup(request.id, what, key),
    write: (variable: VariableWrite) => write(request.id, variable),
    log: (text: string) => send({ id: request.id, kind: "log", stream: "runner", text }),
  };
  try {
    if (request.callbacks) return await runCallbacksOf(request, io);
    let dag: Awaited<ReturnType<typeof loadDag>> | undefined;
    const onExecuteMs = request.onExecuteMs;
    const end = await callTask(
      async () => taskFnOf((dag = await loadDag(request)), request.taskId, request.resume),
      {
        ...io,
        args: request.args,
        onExecute: onExecuteMs
          ? () =>
              callTaskCallbacks(
                dag!,
                request.taskId,
                { event: "onExecute", exception: null, email: null, timeoutMs: onExecuteMs },
                io,
              )
          : undefined,
      },
    );
    return { id: request.id, kind: "result", ...end };
  } finally {
    current = null;
  }
}

/** A callbacks request: their outcomes, or why the DAG file could not give them. */
async function runCallbacksOf(
  request: TaskFlowRequest,
  io: Parameters<typeof callTaskCallbacks>[3],
): Promise<TaskFlowReply> {
  try {
    const dag = await loadDag(request);
    const value = await callTaskCallbacks(dag, request.taskId, request.callbacks!, io);
    return { id: request.id, kind: "result", outcome: "success", value };
  } catch (error) {
    const err = error instanceof Error ? error : new Error(String(error));
    return {
      id: request.id,
      kind: "result",
      outcome: "failed",
      message: err.message,
      stack: err.stack ?? null,
    };
  }
}

/** Requests received while another runs, in order. */
const queue: TaskFlowRequest[] = [];
let draining = false;

async function drain(): Promise<void> {
  draining = true;
  await warm;
  // The reply goes out before the next request starts: the pool starts the next one's clock then.
  for (let request = queue.shift(); request; request = queue.shift()) send(await run(request));
  draining = false;
}

process.on("message", (message: TaskFlowMessage) => {
  if ("kind" in message && message.kind === "lookup-reply") {
    const waiting = asked.get(message.ask);
    asked.delete(message.ask);
    if (message.error !== undefined) waiting?.reject(new Error(message.error));
    else waiting?.resolve(message.value);
    return;
  }
  if ("kind" in message) {
    const at = queue.findIndex((r) => r.id === message.id);
    if (at >= 0) {
      queue.splice(at, 1);
      send({ id: message.id, kind: "dropped" });
    }
    return;
  }
  queue.push(message);
  if (!draining) void drain();
});
// The scheduler is gone: this worker's task and all it started go too (their result could not be
// recorded). It leads its own group (the pool forks it detached).
process.on("disconnect", () => {
  try {
    process.kill(-process.pid, "SIGKILL");
  } catch {
    // Not a group leader after all: this process alone.
  }
  process.exit(1);
});
process.on("unhandledRejection", (reason) => {
  if (current !== null)
    send({ id: current, kind: "log", stream: "stderr", text: `unhandled rejection: ${format(reason)}\n` });
});
