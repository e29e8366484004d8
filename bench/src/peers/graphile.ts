/**
 * graphile-worker: a raw PostgreSQL job queue (LISTEN/NOTIFY to wake workers, SKIP LOCKED to claim).
 * No dependencies between jobs: the DAG layer is the in-memory floor of queue-dag.ts.
 */
import { Logger, makeWorkerUtils, run, type Runner, type WorkerUtils } from "graphile-worker";
import { dropDatabase, freshDatabase, log } from "../util.ts";
import type { Peer } from "../workloads.ts";
import { QueueDag, type TaskJob } from "./queue-dag.ts";

const PG_DATABASE = "bench_graphile";
const quiet = new Logger(() => (level, message) => {
  if (level === "error") log(`graphile-worker: ${message}`);
});

export function graphilePeer(): Peer {
  let runner: Runner;
  let utils: WorkerUtils;
  const dag = new QueueDag(async (jobs: TaskJob[]) => {
    await utils.addJobs(jobs.map((payload) => ({ identifier: "task", payload })));
  });
  return {
    name: "graphile-worker",
    backend: "postgres",
    durable: true,
    how: "raw job queue; downstream jobs enqueued by the upstream job's handler (in-memory upstream counts)",
    async setup(_spec, concurrency) {
      const connectionString = await freshDatabase(PG_DATABASE);
      utils = await makeWorkerUtils({ connectionString, logger: quiet });
      await utils.migrate();
      runner = await run({
        connectionString,
        concurrency,
        noHandleSignals: true,
        pollInterval: 1000,
        logger: quiet,
        maxPoolSize: Math.min(concurrency + 2, 20),
        taskList: { task: async (payload) => dag.handle(payload as TaskJob) },
      });
    },
    async run(graphs, tag) {
      await dag.run(graphs, tag);
      return { times: (await import("../workloads.ts")).recorder.times };
    },
    async teardown() {
      await runner?.stop();
      await utils?.release();
      await dropDatabase(PG_DATABASE).catch(() => undefined);
    },
  };
}
