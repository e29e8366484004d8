/**
 * The five workloads of issue 6, as task graphs every peer runs, and the one interface every peer
 * implements. A peer turns a graph into its own notion (a DAG file, a BullMQ flow, a DBOS workflow,
 * a Celery chord...), runs it, and tells when each task started and ended.
 */
import { PARALLELISM, now, runBody, treeRss, sleep, log, type Body } from "./util.ts";

/**
 * A graph of tasks. `fan`: one task, `width` tasks after it, one task after them all. `chain`: `n`
 * tasks in a line. `parallel`: `n` independent tasks.
 */
export type Shape =
  { kind: "fan"; width: number } | { kind: "chain"; n: number } | { kind: "parallel"; n: number };

export interface Graph {
  /** Unique within a workload; usable as a DAG id, a queue name part or a workflow name. */
  id: string;
  shape: Shape;
  body: Body;
}

export function taskCount(shape: Shape): number {
  return shape.kind === "fan" ? shape.width + 2 : shape.n;
}

/** Task `i`'s downstream tasks (task numbers: fan = 0 start, 1..width, width+1 end). */
export function downstream(shape: Shape, i: number): number[] {
  if (shape.kind === "chain") return i + 1 < shape.n ? [i + 1] : [];
  if (shape.kind === "parallel") return [];
  if (i === 0) return Array.from({ length: shape.width }, (_, k) => k + 1);
  return i <= shape.width ? [shape.width + 1] : [];
}

export function upstreamCount(shape: Shape, i: number): number {
  if (shape.kind === "chain") return i === 0 ? 0 : 1;
  if (shape.kind === "parallel") return 0;
  return i === 0 ? 0 : i <= shape.width ? 1 : shape.width;
}

export type WorkloadName = "fanout" | "chain" | "manydags" | "memory" | "bash";
export const WORKLOADS: WorkloadName[] = ["fanout", "chain", "manydags", "memory", "bash"];

export interface WorkloadSpec {
  name: WorkloadName;
  title: string;
  graphs: Graph[];
  /** Repetitions of this workload (memory runs once: it mostly waits). */
  reps: number;
}

export const SIZES = {
  fanWidth: Number(process.env.BENCH_FAN ?? 1000),
  chain: Number(process.env.BENCH_CHAIN ?? 200),
  dags: Number(process.env.BENCH_DAGS ?? 100),
  /** Tasks per DAG of "many DAGs": one, 8 after it, one after them. */
  dagTasks: 10,
  sleepers: Number(process.env.BENCH_SLEEPERS ?? 1000),
  sleepSeconds: Number(process.env.BENCH_SLEEP_SECONDS ?? 10),
};

export function workloadSpec(name: WorkloadName, reps: number): WorkloadSpec {
  const s = SIZES;
  switch (name) {
    case "fanout":
      return {
        name,
        title: `fan-out/in: 1 -> ${s.fanWidth} no-op -> 1`,
        graphs: [{ id: "fan_noop", shape: { kind: "fan", width: s.fanWidth }, body: { kind: "noop" } }],
        reps,
      };
    case "bash":
      return {
        name,
        title: `fan-out/in: 1 -> ${s.fanWidth} \`true\` processes -> 1`,
        graphs: [{ id: "fan_bash", shape: { kind: "fan", width: s.fanWidth }, body: { kind: "bash" } }],
        // Fork and exec dominate and vary little between runs; two repetitions keep the whole run
        // under ten minutes.
        reps: Math.min(reps, 2),
      };
    case "chain":
      return {
        name,
        title: `chain of ${s.chain} no-op tasks`,
        graphs: [{ id: "chain", shape: { kind: "chain", n: s.chain }, body: { kind: "noop" } }],
        reps,
      };
    case "manydags":
      return {
        name,
        title: `${s.dags} DAGs of ${s.dagTasks} no-op tasks triggered at once`,
        graphs: Array.from({ length: s.dags }, (_, i) => ({
          id: `many_${String(i).padStart(3, "0")}`,
          shape: { kind: "fan" as const, width: s.dagTasks - 2 },
          body: { kind: "noop" as const },
        })),
        reps,
      };
    case "memory":
      return {
        name,
        title: `${s.sleepers} tasks sleeping at once (\`sleep ${s.sleepSeconds}\`)`,
        graphs: [
          {
            id: "sleepers",
            shape: { kind: "parallel", n: s.sleepers },
            body: { kind: "sleep", seconds: s.sleepSeconds },
          },
        ],
        reps: 1,
      };
  }
}

/** When each task of each graph started and ended (epoch ms), for one run. */
export type Times = Map<string, [number, number][]>;

export interface RunResult {
  /** Start and end times of every task, by graph id (index = task number), when the peer knows them. */
  times?: Times;
  /** Statements the orchestrator sent to its database during the run, when it counts them. */
  statements?: number;
}

export interface Peer {
  /** Row label, e.g. "Updraft", "BullMQ". */
  name: string;
  /** "sqlite", "postgres", "redis", "in-memory", "own log". */
  backend: string;
  /** Whether every state change survives a crash (the "durable peer"). */
  durable: boolean;
  /** How this peer maps the graphs (flows, chords, workflows...), shown in the docs. */
  how: string;
  /** Slots for concurrent tasks: PARALLELISM, or the sleepers' count for the memory workload. */
  setup(spec: WorkloadSpec, concurrency: number): Promise<void>;
  /** Runs all graphs at once and resolves when every one has ended. `tag` is unique per repetition. */
  run(graphs: Graph[], tag: string): Promise<RunResult>;
  /** Tasks running right now (memory workload); default: those in this process's recorder. */
  running?(): Promise<number>;
  /** Processes besides this one that belong to the peer (a server, workers), for RSS. */
  pids?(): number[];
  /**
   * The peer runs in `pids()` alone: this process is only its client (triggers runs, reads states),
   * so its memory is not the peer's.
   */
  outOfProcess?: boolean;
  teardown(): Promise<void>;
}

/**
 * Start and end of every task run in this process, for peers whose tasks run in-process. A peer
 * wraps its task body with `recorder.task(graphId, i, body)`.
 */
export class Recorder {
  times: Times = new Map();
  runningNow = 0;

  reset(graphs: Graph[]) {
    this.times = new Map(graphs.map((g) => [g.id, new Array(taskCount(g.shape))]));
    this.runningNow = 0;
  }

  async task(graphId: string, i: number, body: Body): Promise<void> {
    const start = now();
    this.runningNow++;
    try {
      await runBody(body);
    } finally {
      this.runningNow--;
      const list = this.times.get(graphId);
      if (list) list[i] = [start, now()];
    }
  }
}

/** The recorder of this process (one peer runs per process). */
export const recorder = new Recorder();

export interface Measurement {
  /** Figures of one repetition, by metric name. */
  values: Record<string, number>;
}

export interface WorkloadOutcome {
  reps: Measurement[];
  notes: string[];
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Upstream end -> downstream start for each hop of a chain. */
export function hopLatencies(times: [number, number][]): number[] {
  const hops: number[] = [];
  for (let i = 1; i < times.length; i++) {
    if (!times[i] || !times[i - 1]) throw new Error(`chain task ${i} has no recorded times`);
    hops.push(times[i]![0] - times[i - 1]![1]);
  }
  return hops;
}

/** Runs one workload on one (already set up) peer, `spec.reps` times, and returns the figures. */
export async function measure(peer: Peer, spec: WorkloadSpec): Promise<WorkloadOutcome> {
  const notes: string[] = [];
  const reps: Measurement[] = [];
  const tasks = spec.graphs.reduce((sum, g) => sum + taskCount(g.shape), 0);
  if (spec.name === "memory") {
    reps.push(await measureMemory(peer, spec));
    return { reps, notes };
  }
  // One unmeasured warm-up run: first-use costs (JIT, connections, worker start) are not overhead
  // per task. The bash fan-out is dominated by fork and exec and takes longest: no warm-up there.
  if (spec.name !== "bash") {
    log(`${peer.name} (${peer.backend}) ${spec.name}: warm-up`);
    await peer.run(spec.graphs, "warmup");
  }
  for (let r = 0; r < spec.reps; r++) {
    const started = now();
    const result = await peer.run(spec.graphs, `r${r}`);
    const ms = now() - started;
    const values: Record<string, number> = { makespanMs: ms, tiPerSec: tasks / (ms / 1000) };
    if (result.statements !== undefined) values.roundTripsPerTi = result.statements / tasks;
    if (spec.name === "chain") {
      const times = result.times?.get(spec.graphs[0]!.id);
      if (!times) throw new Error("the peer recorded no task times for the chain");
      const hops = hopLatencies(times).sort((a, b) => a - b);
      values.hopP50Ms = percentile(hops, 50);
      values.hopP99Ms = percentile(hops, 99);
      values.hopMaxMs = hops[hops.length - 1]!;
    }
    log(
      `${peer.name} (${peer.backend}) ${spec.name} rep ${r + 1}/${spec.reps}: ${ms.toFixed(0)} ms` +
        (values.hopP50Ms !== undefined
          ? `, hop p50 ${values.hopP50Ms.toFixed(1)} ms p99 ${values.hopP99Ms!.toFixed(1)} ms`
          : "") +
        (values.roundTripsPerTi !== undefined
          ? `, ${values.roundTripsPerTi.toFixed(2)} database round trips per task instance`
          : ""),
    );
    reps.push({ values });
  }
  return { reps, notes };
}

/** RSS of this process and the peer's own processes, above idle, at the peak of n sleeping tasks. */
async function measureMemory(peer: Peer, spec: WorkloadSpec): Promise<Measurement> {
  const n = taskCount(spec.graphs[0]!.shape);
  const roots = () => (peer.outOfProcess ? (peer.pids?.() ?? []) : [process.pid, ...(peer.pids?.() ?? [])]);
  (globalThis as { gc?: () => void }).gc?.();
  await sleep(1000);
  const idle = treeRss(roots());
  log(
    `${peer.name} (${peer.backend}) memory: idle ${(idle.bytes / 2 ** 20).toFixed(0)} MiB in ${idle.processes} processes, starting ${n} sleepers`,
  );
  let peak = idle.bytes;
  let peakRunning = 0;
  let done = false;
  const started = now();
  const run = peer.run(spec.graphs, "mem").finally(() => (done = true));
  while (!done) {
    const running = peer.running ? await peer.running() : recorder.runningNow;
    const rss = treeRss(roots()).bytes;
    peakRunning = Math.max(peakRunning, running);
    peak = Math.max(peak, rss);
    await sleep(200);
  }
  await run;
  const values = {
    idleMiB: idle.bytes / 2 ** 20,
    peakMiB: peak / 2 ** 20,
    peakRunning,
    perTaskKiB: (peak - idle.bytes) / 1024 / n,
    makespanMs: now() - started,
  };
  log(
    `${peer.name} (${peer.backend}) memory: peak ${values.peakMiB.toFixed(0)} MiB, ${peakRunning} running at once, ${values.perTaskKiB.toFixed(0)} KiB per task`,
  );
  return { values };
}

export { PARALLELISM };
