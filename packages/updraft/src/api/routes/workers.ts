/** GET /api/v2/workers (workers-spec.ts): the workers and queues of a distributed installation. */
import type { ApiContext } from "../app.ts";
import { HttpError } from "../errors.ts";

type LooseRoute = (operationId: string, handler: () => Promise<unknown>) => void;

export function registerWorkerRoutes(ctx: ApiContext): void {
  const route = ctx.route as unknown as LooseRoute;
  route("get_workers", async () => {
    const executor = ctx.config.values.core.executor;
    let workers, queues;
    try {
      workers = await ctx.distributed.workers();
      queues = await ctx.distributed.queues(workers);
    } catch (error) {
      throw new HttpError(503, `Redis is unreachable: ${(error as Error).message}`, { "retry-after": "5" });
    }
    return {
      executor,
      workers: workers.map((w) => ({
        worker_id: w.id,
        hostname: w.hostname,
        state: w.alive ? w.state : "dead",
        alive: w.alive,
        queues: w.queues,
        concurrency: w.concurrency,
        pid: w.pid,
        version: w.version,
        started_at: w.startedAt,
        last_heartbeat: w.lastHeartbeat,
        running_tries: w.running.map((t) => ({
          dag_id: t.dagId,
          run_id: t.runId,
          task_id: t.taskId,
          map_index: t.mapIndex,
          try_number: t.tryNumber,
        })),
      })),
      queues,
      total_entries: workers.length,
    };
  });
}
