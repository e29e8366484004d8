/**
 * Statistics (median of the repetitions with min–max), the printed table, the JSON results file and
 * docs/benchmarks.md.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";

export interface Stat {
  median: number;
  min: number;
  max: number;
  n: number;
}

export function stat(values: number[]): Stat {
  if (values.length === 0) return { median: NaN, min: NaN, max: NaN, n: 0 };
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median, min: s[0]!, max: s[s.length - 1]!, n: s.length };
}

export interface Row {
  peer: string;
  backend: string;
  durable: boolean;
  measured: boolean;
  ok: boolean;
  error?: string;
  how?: string;
  /** Median and spread of each metric over the repetitions. */
  metrics: Record<string, Stat>;
  /** For rows not measured here: the published figure, and where it was published. */
  published?: string;
  source?: string;
  seconds?: number;
}

export interface WorkloadResult {
  name: string;
  title: string;
  rows: Row[];
}

export interface Machine {
  cpu: string;
  cores: number;
  ramGiB: number;
  os: string;
  node: string;
}

export interface BenchResult {
  date: string;
  commit: string;
  command: string;
  reps: number;
  machine: Machine;
  sizes: Record<string, number>;
  workloads: WorkloadResult[];
  notMeasured: Row[];
  totalSeconds: number;
}

export function machine(): Machine {
  return {
    cpu: os.cpus()[0]?.model.trim() ?? "unknown",
    cores: os.cpus().length,
    ramGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} (${os.platform()}/${os.arch()})`,
    node: process.version,
  };
}

export function gitCommit(cwd: string): string {
  try {
    const hash = execFileSync("git", ["rev-parse", "--short=12", "HEAD"], { cwd, encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain"], { cwd, encoding: "utf8" }).trim() !== "";
    return dirty ? `${hash}-dirty` : hash;
  } catch {
    return "unknown";
  }
}

/** Columns of each workload's table: metric key, header, unit formatting. */
const COLUMNS: Record<string, [string, string, (v: number) => string][]> = {
  fanout: [
    ["makespanMs", "makespan", ms],
    ["tiPerSec", "TI/s", rate],
    ["roundTripsPerTi", "DB round trips / TI", trips],
  ],
  bash: [
    ["makespanMs", "makespan", ms],
    ["tiPerSec", "TI/s", rate],
    ["roundTripsPerTi", "DB round trips / TI", trips],
  ],
  manydags: [
    ["makespanMs", "makespan", ms],
    ["tiPerSec", "TI/s", rate],
    ["roundTripsPerTi", "DB round trips / TI", trips],
  ],
  chain: [
    ["hopP50Ms", "hop p50", ms],
    ["hopP99Ms", "hop p99", ms],
    ["makespanMs", "makespan", ms],
    ["roundTripsPerTi", "DB round trips / TI", trips],
  ],
  memory: [
    ["perTaskKiB", "per running task", kib],
    ["idleMiB", "idle RSS", mib],
    ["peakMiB", "peak RSS", mib],
    ["peakRunning", "running at peak", (v) => v.toFixed(0)],
  ],
};

function ms(v: number): string {
  return v >= 10_000
    ? `${(v / 1000).toFixed(1)} s`
    : v >= 1000
      ? `${(v / 1000).toFixed(2)} s`
      : v >= 10
        ? `${v.toFixed(0)} ms`
        : `${v.toFixed(1)} ms`;
}
function trips(v: number): string {
  return v.toFixed(2);
}
function rate(v: number): string {
  return v.toFixed(0);
}
function kib(v: number): string {
  return v >= 1024 ? `${(v / 1024).toFixed(2)} MiB` : `${v.toFixed(0)} KiB`;
}
function mib(v: number): string {
  return `${v.toFixed(0)} MiB`;
}

/** "1.52 s (1.40–1.77)": the median with the spread of the repetitions. */
export function cell(s: Stat | undefined, fmt: (v: number) => string): string {
  if (!s || s.n === 0 || Number.isNaN(s.median)) return "–";
  if (fmt === trips) return fmt(s.median); // counted, not timed: the spread is noise-free and small
  if (s.n === 1 || s.min === s.max) return fmt(s.median);
  return `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})`;
}

export function tableRows(w: WorkloadResult): string[][] {
  const cols = COLUMNS[w.name] ?? [];
  const head = ["peer", "backend", "durable", ...cols.map((c) => c[1])];
  const body = w.rows.map((r) => {
    const base = [r.peer, r.backend, r.durable ? "yes" : "no"];
    if (!r.ok) return [...base, `FAILED: ${r.error ?? "unknown"}`, ...cols.slice(1).map(() => "")];
    return [...base, ...cols.map(([key, , fmt]) => cell(r.metrics[key], fmt))];
  });
  return [head, ...body];
}

/** A Markdown table (also readable as plain text), columns padded. */
export function markdownTable(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(3, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    "| " + cells.map((c, i) => (c ?? "").padEnd(widths[i]!)).join(" | ") + " |";
  return [line(rows[0]!), line(widths.map((w) => "-".repeat(w))), ...rows.slice(1).map(line)].join("\n");
}

export function renderTables(result: BenchResult): string {
  const parts: string[] = [];
  for (const w of result.workloads) parts.push(`### ${w.title}\n\n${markdownTable(tableRows(w))}`);
  if (result.notMeasured.length)
    parts.push(
      "### Not measured here (published figures, other machines and workloads)\n\n" +
        markdownTable([
          ["peer", "published figure", "source"],
          ...result.notMeasured.map((r) => [r.peer, r.published ?? "", r.source ?? ""]),
        ]),
    );
  return parts.join("\n\n");
}

/** Writes the dated results file, and results/latest.json when `latest` (a full run). */
export function writeResults(dir: string, result: BenchResult, latest = true): string {
  mkdirSync(dir, { recursive: true });
  const day = result.date.slice(0, 10);
  const file = join(dir, `${day}-${result.commit}.json`);
  const text = JSON.stringify(result, null, 2) + "\n";
  writeFileSync(file, text);
  if (latest) writeFileSync(join(dir, "latest.json"), text);
  return file;
}

export function renderDocs(result: BenchResult): string {
  const m = result.machine;
  return `# Benchmarks

Updraft against the job queues and orchestrators a user would pick instead, run one after another on
the same machine in one run (issue 6). Generated from \`bench/results/latest.json\` by
\`npm run bench -- --write-docs\`; do not edit by hand.

- Command: \`${result.command}\`
- Date: ${result.date}, commit \`${result.commit}\`, ${result.reps} repetitions per figure (median, with min–max; the bash fan-out at most 2, memory 1)
- Machine: ${m.cpu}, ${m.cores} cores, ${m.ramGiB} GiB RAM, ${m.os}, Node ${m.node}
- Whole run: ${result.totalSeconds.toFixed(0)} s

## What is measured

Updraft's rows (SQLite, PostgreSQL, MySQL/MariaDB) are what a user runs: a real \`updraft scheduler\`
process with default settings, task logs written (and compressed as configured), runs triggered with
the operation the REST API uses. Its last row is the scheduler's code in the harness's own process
with logs discarded: what the code costs without a process boundary or files. "DB round trips / TI" is
the scheduler's \`updraft_database_statements_total\` (every statement, BEGIN and COMMIT included) over
the run, divided by its task instances: a figure machine noise does not move.

1. **Fan-out / fan-in**: one task, ${result.sizes.fanWidth} no-op tasks after it, one task after them all.
   Makespan from submitting the run to its end, and task instances per second.
2. **Chain**: ${result.sizes.chain} no-op tasks in a line. Per-hop latency: the upstream task's end to the
   downstream task's start, p50 and p99 over the ${result.sizes.chain - 1} hops.
3. **Many DAGs**: ${result.sizes.dags} DAGs of ${result.sizes.dagTasks} no-op tasks (one, eight, one)
   triggered at once. Makespan.
4. **Memory**: ${result.sizes.sleepers} tasks running \`sleep ${result.sizes.sleepSeconds}\` at once. RSS of
   the orchestrator's own processes (the harness process with the scheduler or workers in it, or for
   Updraft the \`updraft scheduler\` process and its helpers, plus any server or worker processes a
   peer started; not the \`sleep\` processes, not Redis or the database) at the peak above idle,
   divided by ${result.sizes.sleepers}.
5. **Bash**: workload 1 with each task running \`true\` as a process: the cost of fork and exec.

Every peer gets the same ${result.sizes.parallelism} concurrent task slots (Updraft's \`[core] parallelism\`,
BullMQ/graphile-worker/pg-boss worker concurrency, DBOS's concurrent steps, Mastra's foreach
concurrency; Celery uses a prefork pool of ${result.sizes.celeryPrefork}; Restate starts every call at once).
Each figure follows one unmeasured warm-up run. "durable": every task's state change survives a
crash of the process (Redis without AOF fsync and Mastra without storage do not).

## Results

${renderTables(result)}

## How each peer runs the graphs

${result.workloads[0]?.rows.map((r) => `- **${r.peer} (${r.backend})**: ${r.how ?? ""}`).join("\n") ?? ""}

## Rerunning

\`\`\`sh
npm install                                  # installs the peers into the bench workspace
apt-get install -y python3-celery python3-redis   # Celery (Debian's packages), optional
npm run bench                                # every workload, every peer (under 10 minutes)
npm run bench -- chain --peers updraft-sqlite,bullmq-redis --reps 5
npm run bench -- --write-docs                # regenerate this page from bench/results/latest.json
\`\`\`

PostgreSQL (\`BENCH_POSTGRES_URL\`, default \`postgresql://postgres@127.0.0.1:5432/test\`), MySQL or
MariaDB (\`BENCH_MYSQL_URL\`, default \`mysql://root@127.0.0.1:3306/test\`) and Redis
(\`BENCH_REDIS_URL\`, default \`redis://127.0.0.1:6379\`) must be running; each peer works in a
database of its own that the harness creates and drops. Updraft's rows run the built CLI
(\`npm run build\` first); \`BENCH_SCHEDULER_NODE_OPTIONS="--cpu-prof --cpu-prof-dir=/tmp/prof"\`
profiles its scheduler.
`;
}
