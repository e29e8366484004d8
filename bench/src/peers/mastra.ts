/**
 * Mastra workflows: in-process and not durable (no storage configured), the ceiling of what a
 * workflow layer costs with nothing written anywhere. Fan-out with `.foreach(step, { concurrency })`,
 * chains with `.then()`.
 */
import { createStep, createWorkflow } from "@mastra/core/workflows";
import { z } from "zod";
import { recorder, taskCount, type Graph, type Peer } from "../workloads.ts";

const Item = z.object({ g: z.string(), i: z.number() });
let graphs = new Map<string, Graph>();

type Runnable = {
  createRun: () => Promise<{
    start: (o: { inputData: unknown }) => Promise<{ status: string; error?: unknown }>;
  }>;
};

function workflowFor(g: Graph, concurrency: number): Runnable {
  const n = taskCount(g.shape);
  const step = (id: string) =>
    createStep({
      id,
      inputSchema: Item,
      outputSchema: Item,
      execute: async ({ inputData }) => {
        await recorder.task(inputData.g, inputData.i, graphs.get(inputData.g)!.body);
        return inputData;
      },
    });
  if (g.shape.kind === "chain") {
    let wf = createWorkflow({ id: `wf_${g.id}`, inputSchema: Item, outputSchema: Item });
    for (let i = 0; i < n; i++) {
      const k = i;
      wf = wf.then(
        createStep({
          id: `c${k}`,
          inputSchema: Item,
          outputSchema: Item,
          execute: async ({ inputData }) => {
            await recorder.task(inputData.g, k, graphs.get(inputData.g)!.body);
            return { g: inputData.g, i: k };
          },
        }),
      ) as never;
    }
    return wf.commit() as unknown as Runnable;
  }
  const width = g.shape.kind === "fan" ? g.shape.width : g.shape.n;
  const first = g.shape.kind === "fan";
  const start = createStep({
    id: "start",
    inputSchema: Item,
    outputSchema: z.array(Item),
    execute: async ({ inputData }) => {
      if (first) await recorder.task(inputData.g, 0, graphs.get(inputData.g)!.body);
      return Array.from({ length: width }, (_, k) => ({ g: inputData.g, i: first ? k + 1 : k }));
    },
  });
  const end = createStep({
    id: "end",
    inputSchema: z.array(Item),
    outputSchema: Item,
    execute: async ({ inputData }) => {
      const gid = inputData[0]!.g;
      if (first) await recorder.task(gid, n - 1, graphs.get(gid)!.body);
      return { g: gid, i: n - 1 };
    },
  });
  return createWorkflow({ id: `wf_${g.id}`, inputSchema: Item, outputSchema: Item })
    .then(start)
    .foreach(step("task"), { concurrency })
    .then(end)
    .commit() as unknown as Runnable;
}

export function mastraPeer(): Peer {
  const workflows = new Map<string, Runnable>();
  return {
    name: "Mastra workflows",
    backend: "in-memory",
    durable: false,
    how: "in-process, no storage: .then() chains, .foreach(step, { concurrency }) fan-outs",
    async setup(spec, concurrency) {
      for (const g of spec.graphs) workflows.set(g.id, workflowFor(g, concurrency));
    },
    async run(list) {
      graphs = new Map(list.map((g) => [g.id, g]));
      recorder.reset(list);
      await Promise.all(
        list.map(async (g) => {
          const run = await workflows.get(g.id)!.createRun();
          const result = await run.start({ inputData: { g: g.id, i: 0 } });
          if (result.status !== "success")
            throw new Error(`Mastra workflow ended ${result.status}: ${String(result.error)}`);
        }),
      );
      return { times: recorder.times };
    },
    async teardown() {},
  };
}
