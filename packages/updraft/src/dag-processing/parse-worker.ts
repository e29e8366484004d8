/**
 * A parsing child process: loads DAG files one at a time on request and replies with their
 * serialized DAGs or import errors. User code runs here, never in a service's own process.
 */
import { pathToFileURL } from "node:url";
import { isDag, type Dag } from "../sdk/index.ts";
import { registerDagModuleHooks } from "./module-hooks.ts";
import type { ParseReply, ParseRequest } from "./protocol.ts";

registerDagModuleHooks();

function dagsExportedBy(module: Record<string, unknown>): Dag[] {
  const found = new Set<Dag>();
  for (const value of Object.values(module)) {
    if (isDag(value)) found.add(value);
    else if (Array.isArray(value)) for (const item of value) if (isDag(item)) found.add(item);
  }
  return [...found];
}

function describe(error: unknown, path: string): { message: string; stacktrace: string | null } {
  if (error instanceof Error) {
    return { message: error.message, stacktrace: error.stack ?? null };
  }
  return { message: `${path} threw ${String(error)}`, stacktrace: null };
}

async function parse(request: ParseRequest): Promise<ParseReply> {
  const started = performance.now();
  const reply: ParseReply = { id: request.id, dags: [], errors: [], durationMs: 0 };
  try {
    // The hash in the URL makes a changed file load afresh instead of from the module cache.
    const url = `${pathToFileURL(request.path).href}?v=${request.contentHash.slice(0, 16)}`;
    const module = (await import(url)) as Record<string, unknown>;
    const seen = new Set<string>();
    for (const dag of dagsExportedBy(module)) {
      if (seen.has(dag.dagId))
        throw new Error(`dag "${dag.dagId}" is exported twice by ${request.fileloc}: DAG ids must be unique`);
      seen.add(dag.dagId);
      reply.dags.push(dag.serialize({ fileloc: request.fileloc, defaults: request.defaults }));
    }
  } catch (error) {
    reply.dags = [];
    reply.errors.push(describe(error, request.fileloc));
  }
  reply.durationMs = performance.now() - started;
  return reply;
}

process.on("message", (request: ParseRequest) => {
  void parse(request).then((reply) => process.send?.(reply));
});
// An unhandled rejection from a DAG file's stray promise must not kill the worker mid-batch.
process.on("unhandledRejection", () => undefined);
