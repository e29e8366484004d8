/**
 * Scheduler benchmark on SQLite (2 cores): end-to-end task instances per second for a fan-out/fan-in
 * of N no-op TypeScript tasks and of N `true` bash tasks, and the start latency from an upstream
 * task's end to its downstream task's start along a chain. Baseline in the same run: spawning the same
 * number of `true` processes with the same concurrency and no orchestration at all.
 *
 *   npm run bench:scheduler [-- --tasks 1000 --chain 200]
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { KyselyPlugin } from "kysely";
import { pino } from "pino";
import { loadConfig } from "../src/config/load.ts";
import { processDagFiles } from "../src/dag-processing/processor.ts";
import { createScheduler } from "../src/scheduler/runtime.ts";
import { triggerDagRun } from "../src/operations/trigger-run.ts";
import { createCipher } from "../src/secrets/cipher.ts";
import { openDatabase } from "../src/storage/database.ts";
import { dagRunStore } from "../src/storage/dag-runs.ts";
import { migrateDatabase } from "../src/storage/migrate.ts";

const { values } = parseArgs({
  options: {
    tasks: { type: "string", default: "1000" },
    chain: { type: "string", default: "200" },
    cases: { type: "string", default: "ts,bash,baseline,chain" },
    /** Also print the SQL statements issued per task instance, by kind and table. */
    "count-sql": { type: "boolean", default: false },
  },
});
const N = Number(values.tasks);
const CHAIN = Number(values.chain);
const CASES = new Set(values.cases.split(","));
const PARALLELISM = 32;

const DAGS = {
  "fan_ts.ts": `import { dag, task, empty } from "updraft";
export default dag({ dagId: "fan_ts", maxActiveTasks: ${PARALLELISM} }, () => {
  const start = empty("start"); const end = empty("end");
  const noop = task("noop", () => null);
  for (let i = 0; i < ${N}; i++) { const t = noop(); start.before(t); t.before(end); }
});`,
  "fan_bash.ts": `import { dag, bash, empty } from "updraft";
export default dag({ dagId: "fan_bash", maxActiveTasks: ${PARALLELISM} }, () => {
  const start = empty("start"); const end = empty("end");
  for (let i = 0; i < ${N}; i++) { const t = bash("t" + i, { command: "true" }); start.before(t); t.before(end); }
});`,
  "chain.ts": `import { dag, bash } from "updraft";
export default dag({ dagId: "chain" }, () => {
  let prev = bash("c0", { command: "true" });
  for (let i = 1; i < ${CHAIN}; i++) { const t = bash("c" + i, { command: "true" }); prev.before(t); prev = t; }
});`,
};

const home = mkdtempSync(join(tmpdir(), "updraft-bench-sched-"));
mkdirSync(join(home, "dags"));
for (const [name, text] of Object.entries(DAGS)) writeFileSync(join(home, "dags", name), text);
const config = loadConfig({
  env: {
    UPDRAFT_HOME: home,
    UPDRAFT__CORE__LOAD_EXAMPLES: "false",
    UPDRAFT__CORE__DAGS_ARE_PAUSED_AT_CREATION: "false",
    UPDRAFT__CORE__PARALLELISM: String(PARALLELISM),
    UPDRAFT__CORE__MAX_ACTIVE_TASKS_PER_DAG: String(PARALLELISM),
  },
});
const opened = openDatabase(config.values.database.url);
await migrateDatabase(opened);
const statements = new Map<string, number>();
const database = values["count-sql"] ? { ...opened, db: opened.db.withPlugin(counter(statements)) } : opened;
await processDagFiles(config, database);
const { scheduler, close } = createScheduler({
  config,
  database,
  log: pino({ level: "warn" }),
  cipher: createCipher(config.values.security.encryption_key),
  openLog: async () => ({ write: () => undefined, close: async () => undefined }),
  loopIntervalMs: 200,
});
await scheduler.start();

/** Counts statements by kind and first table (BEGIN/COMMIT are not queries and not counted). */
function counter(into: Map<string, number>): KyselyPlugin {
  return {
    transformQuery(args) {
      const node = args.node as { kind: string; from?: unknown; table?: unknown; into?: unknown };
      const table = JSON.stringify(node.from ?? node.table ?? node.into ?? "").match(/"name":"(\w+)"/)?.[1];
      const key = `${node.kind.replace("QueryNode", "")} ${table ?? "?"}`;
      into.set(key, (into.get(key) ?? 0) + 1);
      return args.node;
    },
    transformResult: async (args) => args.result,
  };
}

function reportStatements(label: string, tis: number): void {
  if (!values["count-sql"]) return;
  const total = [...statements.values()].reduce((a, b) => a + b, 0);
  console.log(`${label}: ${(total / tis).toFixed(2)} statements per TI`);
  for (const [k, n] of [...statements].sort((a, b) => b[1] - a[1]))
    console.log(`  ${(n / tis).toFixed(2).padStart(6)} ${k}`);
  statements.clear();
}

/** The scheduler process's CPU (user + system) per task instance, by case: steadier than wall time on a busy machine. */
const cpu: string[] = [];
function cpuSince(label: string, since: NodeJS.CpuUsage, count: number): void {
  const used = process.cpuUsage(since);
  cpu.push(
    `${label}: ${((used.user + used.system) / 1000 / count).toFixed(2)} ms CPU per TI (user ${(used.user / 1000 / count).toFixed(2)}, system ${(used.system / 1000 / count).toFixed(2)})`,
  );
}

async function runToEnd(dagId: string): Promise<{ ms: number; runId: number }> {
  statements.clear();
  const started = performance.now();
  const run = await triggerDagRun(database, { dagId, runId: `bench_${dagId}` });
  for (;;) {
    const r = await dagRunStore(database).get(dagId, run.run_id);
    if (r?.state === "success" || r?.state === "failed") {
      if (r.state !== "success") throw new Error(`${dagId} ended ${r.state}`);
      return { ms: performance.now() - started, runId: run.id };
    }
    await new Promise((res) => setTimeout(res, 20));
  }
}

async function baseline(): Promise<number> {
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < N) {
      next++;
      await new Promise((res) => spawn("bash", ["-c", "true"], { stdio: "ignore" }).on("close", res));
    }
  };
  await Promise.all(Array.from({ length: PARALLELISM }, worker));
  return performance.now() - started;
}

async function chainLatencies(runId: number): Promise<number[]> {
  const rows = await database.db
    .selectFrom("task_instance")
    .select(["task_id", "start_date", "end_date"])
    .where("dag_run_id", "=", runId)
    .execute();
  const byId = new Map(rows.map((r) => [r.task_id, r]));
  const gaps: number[] = [];
  for (let i = 1; i < CHAIN; i++)
    gaps.push(Date.parse(byId.get(`c${i}`)!.start_date!) - Date.parse(byId.get(`c${i - 1}`)!.end_date!));
  return gaps.sort((a, b) => a - b);
}

/**
 * The fan's rate once it flows: from its first task's end to its last one's, so without the run's
 * creation and the first worker's start (cold costs, paid once per run and per idle period).
 */
async function steadyRate(runId: number): Promise<string> {
  const span = await database.db
    .selectFrom("task_instance")
    .select((eb) => [eb.fn.min("end_date").as("first"), eb.fn.max("end_date").as("last")])
    .where("dag_run_id", "=", runId)
    .where("task_id", "not in", ["start", "end"])
    .executeTakeFirstOrThrow();
  const seconds = (Date.parse(String(span.last)) - Date.parse(String(span.first))) / 1000;
  return `${((N - 1) / seconds).toFixed(0)} TI/s`;
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const rows: string[][] = [];
const rssIdle = process.memoryUsage().rss;
if (CASES.has("ts")) {
  const cpu0 = process.cpuUsage();
  const ts = await runToEnd("fan_ts");
  cpuSince("fan_ts", cpu0, N + 2);
  rows.push([
    `fan-out/in of ${N} no-op TypeScript tasks`,
    `${(ts.ms / 1000).toFixed(2)} s`,
    `${((N + 2) / (ts.ms / 1000)).toFixed(0)} TI/s`,
    await steadyRate(ts.runId),
  ]);
  reportStatements("fan_ts", N + 2);
}
if (CASES.has("bash")) {
  const cpu0 = process.cpuUsage();
  const sh = await runToEnd("fan_bash");
  cpuSince("fan_bash", cpu0, N + 2);
  rows.push([
    `fan-out/in of ${N} bash \`true\` tasks`,
    `${(sh.ms / 1000).toFixed(2)} s`,
    `${((N + 2) / (sh.ms / 1000)).toFixed(0)} TI/s`,
    await steadyRate(sh.runId),
  ]);
  reportStatements("fan_bash", N + 2);
}
if (CASES.has("baseline")) {
  const cpu0 = process.cpuUsage();
  const base = await baseline();
  cpuSince("baseline", cpu0, N);
  rows.push([
    `baseline: ${N} bare \`bash -c true\` spawns, ${PARALLELISM} at a time`,
    `${(base / 1000).toFixed(2)} s`,
    `${(N / (base / 1000)).toFixed(0)} /s`,
    "-",
  ]);
}
if (CASES.has("chain")) {
  const cpu0 = process.cpuUsage();
  const ch = await runToEnd("chain");
  cpuSince("chain", cpu0, CHAIN);
  reportStatements("chain", CHAIN);
  const gaps = await chainLatencies(ch.runId);
  rows.push([
    `${CHAIN}-task chain: upstream end -> downstream start`,
    `p50 ${pct(gaps, 50)} ms`,
    `p99 ${pct(gaps, 99)} ms`,
    `${(ch.ms / CHAIN).toFixed(1)} ms per hop (makespan / tasks)`,
  ]);
}
rows.push([
  "scheduler process RSS: idle -> after the runs",
  `${(rssIdle / 2 ** 20).toFixed(0)} MiB`,
  `${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`,
  "-",
]);
await scheduler.stop();
await close();
await opened.close();
rmSync(home, { recursive: true, force: true });

const head = ["case", "time (trigger -> run end)", "rate", "flowing (first task end -> last)"];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]) => "| " + cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ") + " |";
console.log([line(head), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n"));
console.log(cpu.join("\n"));
console.log(`\nSQLite, parallelism ${PARALLELISM}, node ${process.version}`);
