/**
 * DBOS Transact: durable workflows on PostgreSQL. One workflow per graph; every task is a step whose
 * completion DBOS checkpoints in its system database before the workflow goes on. The fan-out runs
 * its steps concurrently (at most `concurrency` at once, like the others' worker slots).
 */
import { DBOS } from "@dbos-inc/dbos-sdk";
import { dropDatabase, freshDatabase } from "../util.ts";
import { recorder, taskCount, type Graph, type Peer } from "../workloads.ts";

const PG_DATABASE = "bench_dbos";
let graphs = new Map<string, Graph>();
let slots = 32;

/** Runs `fns` with at most `limit` in flight, starting them in index order (deterministic step ids). */
async function limited(count: number, limit: number, fn: (k: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, count) }, async () => {
      while (next < count) await fn(next++);
    }),
  );
}

const taskStep = DBOS.registerStep(async (g: string, i: number) => recorder.task(g, i, graphs.get(g)!.body), {
  name: "task",
});

const graphWorkflow = DBOS.registerWorkflow(
  async (id: string) => {
    const g = graphs.get(id)!;
    const n = taskCount(g.shape);
    if (g.shape.kind === "chain") for (let i = 0; i < n; i++) await taskStep(id, i);
    else if (g.shape.kind === "parallel") await limited(n, slots, (i) => taskStep(id, i));
    else {
      await taskStep(id, 0);
      await limited(g.shape.width, slots, (k) => taskStep(id, k + 1));
      await taskStep(id, n - 1);
    }
  },
  { name: "graph" },
);

export function dbosPeer(): Peer {
  return {
    name: "DBOS",
    backend: "postgres",
    durable: true,
    how: "a workflow per graph, a checkpointed step per task; fan-out steps run concurrently (limited to the same slots)",
    async setup(_spec, concurrency) {
      slots = concurrency;
      const url = await freshDatabase(PG_DATABASE);
      DBOS.setConfig({ name: "updraft-bench", systemDatabaseUrl: url, logLevel: "error" } as never);
      await DBOS.launch();
    },
    async run(list, _tag) {
      graphs = new Map(list.map((g) => [g.id, g]));
      recorder.reset(list);
      const handles = await Promise.all(list.map((g) => DBOS.startWorkflow(graphWorkflow)(g.id)));
      await Promise.all(handles.map((h) => h.getResult()));
      return { times: recorder.times };
    },
    async teardown() {
      await DBOS.shutdown();
      await dropDatabase(PG_DATABASE).catch(() => undefined);
    },
  };
}
