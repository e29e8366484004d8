/**
 * BullMQ on Redis and on its PostgreSQL backend (`createPostgresBackend`, BullMQ 6). Fan-in through
 * FlowProducer (a parent job runs once all its children completed); the fan's first task adds the
 * flow when it runs. Chains are nested flows (each job the only child of the next), so BullMQ
 * itself releases every downstream job.
 */
import { FlowProducer, Queue, Worker, createPostgresBackend, type FlowJob, type Job } from "bullmq";
import { PARALLELISM, REDIS_URL, dropDatabase, freshDatabase, log } from "../util.ts";
import { recorder, taskCount, type Graph, type Peer, type RunResult } from "../workloads.ts";

const QUEUE = "updraft_bench";
const PG_DATABASE = "bench_bullmq";

interface JobData {
  g: string;
  tag: string;
  i: number;
}

export function bullmqPeer(backend: "redis" | "postgres"): Peer {
  let queue: Queue;
  let worker: Worker;
  let flows: FlowProducer;
  let graphs = new Map<string, Graph>();
  const waiting = new Map<string, { left: number; resolve: () => void; reject: (e: Error) => void }>();
  let factory: unknown;
  let connection: unknown;

  // The two backends take the same classes; only the last constructor argument differs.
  const make = <T>(ctor: new (...args: never[]) => T, ...args: unknown[]): T =>
    new (ctor as unknown as new (...a: unknown[]) => T)(...args, ...(factory ? [factory] : []));

  const finish = (key: string) => {
    const w = waiting.get(key);
    if (w && --w.left === 0) {
      waiting.delete(key);
      w.resolve();
    }
  };

  return {
    name: "BullMQ",
    backend,
    durable: backend === "postgres",
    how:
      backend === "redis"
        ? "one queue; fan-in with FlowProducer (the first task adds the flow), chains as nested flows; Redis without AOF fsync is not durable per task"
        : "same code on createPostgresBackend (BullMQ 6)",
    async setup(_spec, concurrency) {
      if (backend === "redis") {
        const u = new URL(REDIS_URL);
        connection = { host: u.hostname, port: Number(u.port || 6379), maxRetriesPerRequest: null };
      } else {
        connection = { connectionString: await freshDatabase(PG_DATABASE), migrate: true };
        factory = createPostgresBackend;
      }
      queue = make(Queue, QUEUE, { connection });
      if (backend === "redis") await queue.obliterate({ force: true });
      flows = make(FlowProducer, { connection });
      worker = make(
        Worker,
        QUEUE,
        async (job: Job<JobData>) => {
          const { g, tag, i } = job.data;
          const graph = graphs.get(g)!;
          await recorder.task(g, i, graph.body);
          if (graph.shape.kind === "fan" && i === 0) {
            // The fan-out: the rest of the graph is one flow whose parent waits for every child.
            const width = graph.shape.width;
            await flows.add({
              name: "end",
              queueName: QUEUE,
              data: { g, tag, i: width + 1 },
              children: Array.from({ length: width }, (_, k) => ({
                name: "t",
                queueName: QUEUE,
                data: { g, tag, i: k + 1 },
              })),
            });
          }
        },
        { connection, concurrency, removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } },
      );
      worker.on("completed", (job: Job<JobData>) => {
        const graph = graphs.get(job.data.g);
        if (!graph) return;
        const key = `${job.data.g}:${job.data.tag}`;
        if (graph.shape.kind === "parallel") finish(key);
        else if (job.data.i === taskCount(graph.shape) - 1) finish(key);
      });
      worker.on("failed", (job: Job<JobData> | undefined, err: Error) => {
        const w = job && waiting.get(`${job.data.g}:${job.data.tag}`);
        w?.reject(err);
      });
      worker.on("error", (err: Error) => log(`BullMQ worker error: ${err.message}`));
      await worker.waitUntilReady();
    },
    async run(list: Graph[], tag: string): Promise<RunResult> {
      graphs = new Map(list.map((g) => [g.id, g]));
      recorder.reset(list);
      const done = list.map(
        (g) =>
          new Promise<void>((resolve, reject) =>
            waiting.set(`${g.id}:${tag}`, {
              left: g.shape.kind === "parallel" ? g.shape.n : 1,
              resolve,
              reject,
            }),
          ),
      );
      await Promise.all(
        list.map(async (g) => {
          if (g.shape.kind === "fan") await queue.add("start", { g: g.id, tag, i: 0 });
          else if (g.shape.kind === "parallel")
            await queue.addBulk(
              Array.from({ length: g.shape.n }, (_, i) => ({ name: "t", data: { g: g.id, tag, i } })),
            );
          else {
            // c0 is the innermost child: it runs first; each parent runs once its child completed.
            let flow: FlowJob = { name: "c0", queueName: QUEUE, data: { g: g.id, tag, i: 0 } };
            for (let i = 1; i < g.shape.n; i++)
              flow = { name: `c${i}`, queueName: QUEUE, data: { g: g.id, tag, i }, children: [flow] };
            await flows.add(flow);
          }
        }),
      );
      await Promise.all(done);
      return { times: recorder.times };
    },
    async teardown() {
      await worker?.close();
      await flows?.close();
      if (backend === "redis") await queue?.obliterate({ force: true }).catch(() => undefined);
      await queue?.close();
      if (backend === "postgres") await dropDatabase(PG_DATABASE).catch(() => undefined);
    },
  };
}

export { PARALLELISM };
