/**
 * pg-boss: a raw PostgreSQL job queue, with LISTEN/NOTIFY turned on so workers wake when a job is
 * created rather than at their next poll. The DAG layer is the in-memory floor of queue-dag.ts.
 */
import { PgBoss } from "pg-boss";
import { dropDatabase, freshDatabase, log } from "../util.ts";
import { recorder, type Peer } from "../workloads.ts";
import { QueueDag, type TaskJob } from "./queue-dag.ts";

const PG_DATABASE = "bench_pgboss";
const QUEUE = "task";
const BATCH = 4;

export function pgBossPeer(): Peer {
  let boss: PgBoss;
  const dag = new QueueDag(async (jobs: TaskJob[]) => {
    if (jobs.length === 1) await boss.send(QUEUE, jobs[0]!);
    else
      await boss.insert(
        QUEUE,
        jobs.map((data) => ({ data })),
      );
  });
  return {
    name: "pg-boss",
    backend: "postgres",
    durable: true,
    how: "raw job queue (notify on); downstream jobs enqueued by the upstream job's handler (in-memory upstream counts)",
    async setup(_spec, concurrency) {
      const connectionString = await freshDatabase(PG_DATABASE);
      boss = new PgBoss({ connectionString, useListenNotify: true, max: concurrency + 4 });
      boss.on("error", (e: Error) => log(`pg-boss: ${e.message}`));
      await boss.start();
      await boss.createQueue(QUEUE, { notify: true });
      await boss.work<TaskJob>(
        QUEUE,
        {
          // A NOTIFY wakes the workers, but a batch-of-one worker then waits out its poll interval
          // after each empty fetch; batches with burst fetching keep a backlog flowing.
          localConcurrency: Math.max(1, Math.ceil(concurrency / BATCH)),
          batchSize: BATCH,
          burstWhenBatchFull: true,
          pollingIntervalSeconds: 0.5,
          notifyPollingIntervalSeconds: 0.5,
        },
        async (jobs) => {
          await Promise.all(jobs.map((job) => dag.handle(job.data)));
        },
      );
    },
    async run(graphs, tag) {
      await dag.run(graphs, tag);
      return { times: recorder.times };
    },
    async teardown() {
      await boss?.stop({ graceful: false, wait: true } as never).catch(() => undefined);
      await dropDatabase(PG_DATABASE).catch(() => undefined);
    },
  };
}
