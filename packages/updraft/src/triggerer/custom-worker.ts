/**
 * The custom-trigger process: runs the triggers whose classpath names user code ("<module>#<export>")
 * for one triggerer, all of them as async objects in this one process. It is started with the
 * environment user code gets (core/child-env.ts): no database URL, no keys. It knows only the DAGs
 * folder (argv[2]); each trigger's first event (or its error) goes back to the triggerer, which
 * writes it. When the triggerer goes away (its IPC channel closes), this process ends.
 */
import { createRequire } from "node:module";
import { isAbsolute, join, resolve } from "node:path";
import { format } from "node:util";
import { pathToFileURL } from "node:url";
import { registerDagModuleHooks } from "../dag-processing/module-hooks.ts";
import type { JsonValue } from "../sdk/json.ts";
import type { TriggerRun } from "../sdk/triggers.ts";
import { stat } from "node:fs/promises";
import type { LookupKind } from "../runner/taskflow-protocol.ts";
import { findDag } from "../runner/taskflow-call.ts";
import { runCallbacks } from "../sdk/callbacks.ts";
import type { Callback } from "../sdk/callback-types.ts";
import { taskContext } from "../sdk/context.ts";
import { setLookup } from "../sdk/lookups.ts";
import type { CallbackJob, CustomTriggerMessage, CustomTriggerReply } from "./custom-protocol.ts";

registerDagModuleHooks();

const dagsFolder = process.argv[2] ?? process.cwd();
const running = new Map<
  number,
  { run: TriggerRun; iterator?: AsyncIterator<JsonValue>; cancelled: boolean }
>();
const send = (reply: CustomTriggerReply) => process.send?.(reply);

process.on("disconnect", () => process.exit(0));
process.on("message", (message: CustomTriggerMessage) => {
  if (message.kind === "add") void start(message.id, message.classpath, message.kwargs);
  else if (message.kind === "cancel") void cancel(message.id);
  else if (message.kind === "callback") void runCallbackJob(message);
  else answer(message);
});
// A trigger's stray rejection must not end the others.
process.on("unhandledRejection", (error) =>
  process.stderr.write(`unhandled rejection in a trigger: ${format(error)}\n`),
);

/** "<module>#<export>": a module relative to the DAGs folder (a path), or a package name. */
async function load(classpath: string): Promise<unknown> {
  const hash = classpath.lastIndexOf("#");
  if (hash <= 0) throw new Error(`classpath "${classpath}" is not "<module>#<export>"`);
  const module = classpath.slice(0, hash);
  const name = classpath.slice(hash + 1);
  const isPath = module.startsWith(".") || isAbsolute(module) || /\.(m?[jt]s|cjs|cts)$/.test(module);
  const url = isPath ? pathToFileURL(resolve(dagsFolder, module)).href : resolvePackage(module);
  const exports = (await import(url)) as Record<string, unknown>;
  if (!(name in exports)) throw new Error(`${module} exports no "${name}"`);
  return exports[name];
}

/** A package as the DAGs project sees it (its node_modules); "updraft" is this SDK (module hooks). */
function resolvePackage(name: string): string {
  try {
    return pathToFileURL(createRequire(join(dagsFolder, "package.json")).resolve(name)).href;
  } catch {
    return name;
  }
}

function construct(exported: unknown, kwargs: Record<string, JsonValue>): TriggerRun {
  const made =
    typeof exported === "function" ? new (exported as new (k: unknown) => unknown)(kwargs) : exported;
  if (!made || typeof (made as TriggerRun).run !== "function")
    throw new Error("the export is neither a class nor an object with run() (an async generator of events)");
  return made as TriggerRun;
}

async function start(id: number, classpath: string, kwargs: Record<string, JsonValue>): Promise<void> {
  let entry: { run: TriggerRun; iterator?: AsyncIterator<JsonValue>; cancelled: boolean } | undefined;
  try {
    const run = construct(await load(classpath), kwargs);
    entry = { run, cancelled: false };
    running.set(id, entry);
    entry.iterator = run.run()[Symbol.asyncIterator]();
    const first = await entry.iterator.next();
    if (entry.cancelled) return;
    if (first.done) send({ kind: "error", id, error: `the trigger ${classpath} ended without an event` });
    else send({ kind: "event", id, event: JSON.parse(JSON.stringify(first.value ?? null)) as JsonValue });
  } catch (error) {
    if (!entry?.cancelled)
      send({ kind: "error", id, error: error instanceof Error ? error.message : format(error) });
  } finally {
    running.delete(id);
    if (entry && !entry.cancelled) await finish(entry);
  }
}

/** A trigger no longer wanted (or done): its generator closed, its cleanup called. */
async function cancel(id: number): Promise<void> {
  const entry = running.get(id);
  if (!entry) return;
  entry.cancelled = true;
  running.delete(id);
  await finish(entry);
}

async function finish(entry: { run: TriggerRun; iterator?: AsyncIterator<JsonValue> }): Promise<void> {
  try {
    // A generator paused at a yield closes; one awaiting inside its body cannot be interrupted.
    void entry.iterator?.return?.(undefined)?.catch?.(() => undefined);
    await entry.run.cleanup?.();
  } catch (error) {
    process.stderr.write(`a trigger's cleanup failed: ${format(error)}\n`);
  }
}

// DAG and deadline callbacks: getVariable() and getConnection() ask the triggerer, which answers
// through the installation's secrets chain (the child never sees the database or its keys).
const asked = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
let nextAsk = 1;
setLookup(
  (what: LookupKind, key: string) =>
    new Promise((resolve, reject) => {
      const ask = nextAsk++;
      asked.set(ask, { resolve, reject });
      send({ kind: "lookup", ask, what, key });
    }),
  () => Promise.reject(new Error("setVariable() is not available in a DAG callback")),
);

function answer(message: Extract<CustomTriggerMessage, { kind: "lookup-answer" }>): void {
  const pending = asked.get(message.ask);
  if (!pending) return;
  asked.delete(message.ask);
  if (message.error !== undefined) pending.reject(new Error(message.error));
  else pending.resolve(message.value);
}

/** The DAG's callbacks for the job's event, from its file as it is now (reloaded when it changed). */
async function callbacksOf(job: CallbackJob): Promise<readonly Callback[]> {
  const version = (await stat(job.path)).mtimeMs;
  const exports = (await import(`${pathToFileURL(job.path).href}?v=${version}`)) as Record<string, unknown>;
  const dag = findDag(exports, job.dagId);
  if (!dag) throw new Error(`${job.path} no longer exports dag "${job.dagId}"`);
  if (typeof dag.callbacksFor !== "function")
    throw new Error(
      `dag "${job.dagId}" was built by an SDK without DAG callbacks: update the "updraft" package`,
    );
  return job.event === "deadline_missed"
    ? dag.deadlineCallbacks(job.deadlineIndex ?? -1)
    : dag.callbacksFor(job.event);
}

async function runCallbackJob(job: CallbackJob): Promise<void> {
  try {
    const callbacks = await callbacksOf(job);
    if (callbacks.length === 0)
      return void send({
        kind: "callback-error",
        id: job.id,
        error: `dag "${job.dagId}" has no callback for ${job.event}${job.deadlineIndex === null ? "" : ` (deadline ${job.deadlineIndex})`} any more`,
      });
    const outcomes = await runCallbacks(callbacks, taskContext(job.context), {
      timeoutMs: job.timeoutMs,
      log: (line) => send({ kind: "callback-log", id: job.id, line }),
    });
    send({ kind: "callback-done", id: job.id, outcomes });
  } catch (error) {
    send({
      kind: "callback-error",
      id: job.id,
      error: error instanceof Error ? (error.stack ?? error.message) : format(error),
    });
  }
}

send({ kind: "ready" });
