/**
 * A large DAG in a realistic shape, for the speed benchmark and the graph's browser test: a start, many
 * sources each fanned out into partitions that run a short pipeline of stages, merged per source,
 * checked, joined into shared reports, then published. Deterministic (seeded), so runs compare.
 */

export interface BigTask {
  id: string;
  kind: "bash" | "empty" | "task";
  upstream: string[];
}

/** A small seeded generator (mulberry32), so every run builds the same graph. */
function random(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const STAGES = ["clean", "enrich", "transform", "load", "index", "verify"];

/** About `size` tasks (exactly `size`: the last source is cut to fit). */
export function bigDagTasks(size = 5000): BigTask[] {
  const rand = random(42);
  const tasks: BigTask[] = [{ id: "start", kind: "empty", upstream: [] }];
  const add = (id: string, kind: BigTask["kind"], upstream: string[]) => tasks.push({ id, kind, upstream });
  const lookups: string[] = [];
  for (let l = 0; l < 8; l++) {
    add(`lookup_${l}`, "task", ["start"]);
    lookups.push(`lookup_${l}`);
  }
  const checks: string[] = [];
  for (let s = 0; tasks.length < size - 40; s++) {
    const src = `src${String(s).padStart(3, "0")}`;
    add(`${src}.extract`, "bash", ["start"]);
    // validation reads one of the shared lookup tables: edges that cross between sources
    add(`${src}.validate`, "task", [`${src}.extract`, lookups[s % lookups.length]!]);
    const partitions = 8 + Math.floor(rand() * 30);
    const depth = 2 + Math.floor(rand() * 5);
    const ends: string[] = [];
    for (let p = 0; p < partitions && tasks.length + depth + 2 <= size - 30; p++) {
      let prev = `${src}.validate`;
      for (let d = 0; d < depth; d++) {
        const id = `${src}.p${String(p).padStart(2, "0")}.${STAGES[d]}`;
        add(id, d % 3 === 2 ? "task" : "bash", [prev]);
        prev = id;
      }
      ends.push(prev);
    }
    add(`${src}.merge`, "task", ends.length ? ends : [`${src}.validate`]);
    add(`${src}.quality`, "bash", [`${src}.merge`]);
    checks.push(`${src}.quality`);
  }
  const reports: string[] = [];
  const count = size - 2 - tasks.length; // the reports take up what is left, so the total is exact
  for (let r = 0; r < count; r++) {
    const ups = checks.filter((_, i) => i % count === r || (i * 7 + r) % 23 === 0);
    add(`report_${r}`, "bash", ups.length ? ups : ["start"]);
    reports.push(`report_${r}`);
  }
  add("publish", "bash", reports);
  add("end", "empty", ["publish"]);
  return tasks;
}

/** The DAG file (TypeScript, the authoring API) that builds `tasks` under `dagId`. */
export function bigDagSource(dagId: string, tasks: BigTask[]): string {
  const spec = JSON.stringify(tasks.map((t) => [t.id, t.kind, t.upstream]));
  return `import { bash, dag, empty, task, type TaskHandle } from "updraft";

const SPEC: [string, "bash" | "empty" | "task", string[]][] = ${spec};

export default dag(
  { dagId: ${JSON.stringify(dagId)}, schedule: "@daily", startDate: "2024-01-01", catchup: false, tags: ["big"] },
  () => {
    const handles = new Map<string, TaskHandle>();
    for (const [id, kind, upstream] of SPEC) {
      const handle =
        kind === "bash"
          ? bash(id, { command: "echo " + id })
          : kind === "empty"
            ? empty(id)
            : task(id, async () => id)();
      for (const up of upstream) handles.get(up)!.before(handle);
      handles.set(id, handle);
    }
  },
);
`;
}
