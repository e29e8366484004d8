/**
 * The least a DAG layer needs on a raw job queue (graphile-worker, pg-boss): a job per task, and
 * when a job's body is done, the downstream tasks whose upstreams have all ended are enqueued before
 * the job completes. Upstream counts live in this process's memory: the floor, with none of the
 * bookkeeping a durable orchestrator writes.
 */
import { recorder, downstream, taskCount, upstreamCount, type Graph } from "../workloads.ts";

export interface TaskJob {
  g: string;
  tag: string;
  i: number;
}

export class QueueDag {
  #graphs = new Map<string, Graph>();
  #left = new Map<string, Int32Array>();
  #waiting = new Map<string, { left: number; resolve: () => void }>();

  readonly enqueue: (jobs: TaskJob[]) => Promise<void>;

  constructor(enqueue: (jobs: TaskJob[]) => Promise<void>) {
    this.enqueue = enqueue;
  }

  /** Starts every graph and resolves when all have ended. */
  async run(graphs: Graph[], tag: string): Promise<void> {
    this.#graphs = new Map(graphs.map((g) => [g.id, g]));
    recorder.reset(graphs);
    const done: Promise<void>[] = [];
    const first: TaskJob[] = [];
    for (const g of graphs) {
      const n = taskCount(g.shape);
      const left = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        left[i] = upstreamCount(g.shape, i);
        if (left[i] === 0) first.push({ g: g.id, tag, i });
      }
      this.#left.set(`${g.id}:${tag}`, left);
      done.push(
        new Promise((resolve) =>
          this.#waiting.set(`${g.id}:${tag}`, { left: g.shape.kind === "parallel" ? n : 1, resolve }),
        ),
      );
    }
    await this.enqueue(first);
    await Promise.all(done);
  }

  /** The job handler: the task's body, then its ready downstream tasks. */
  async handle(job: TaskJob): Promise<void> {
    const g = this.#graphs.get(job.g);
    if (!g) return; // a leftover from an earlier run
    await recorder.task(job.g, job.i, g.body);
    const key = `${job.g}:${job.tag}`;
    const left = this.#left.get(key)!;
    const ready = downstream(g.shape, job.i).filter((d) => --left[d]! === 0);
    if (ready.length) await this.enqueue(ready.map((i) => ({ g: job.g, tag: job.tag, i })));
    if (g.shape.kind === "parallel" || job.i === taskCount(g.shape) - 1) {
      const w = this.#waiting.get(key)!;
      if (--w.left === 0) {
        // Resolve after the queue marked the job completed, as the others are measured.
        setImmediate(w.resolve);
        this.#waiting.delete(key);
      }
    }
  }
}
