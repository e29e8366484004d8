/**
 * Distributed execution benchmark (issue 15), on PostgreSQL, with the processes a user runs and their
 * default settings (task logs written and compressed; through workers they also travel to the
 * webserver):
 *
 * - local: one `updraft scheduler` ([core] executor = local);
 * - bullmq: `updraft scheduler` + `updraft webserver` + 2 `updraft worker`s (16 tries each: 32, as
 *   parallelism), through this machine's Redis;
 * - plain BullMQ: a queue and 2 worker processes of concurrency 16, no orchestration: the floor.
 *
 * Workloads: 1 -> 1000 no-op TypeScript tasks -> 1 (makespan from trigger to the run's end, and task
 * instances per second), and a chain of 200 bash `true` tasks (upstream end -> downstream start, p50
 * and p99). Medians of --reps runs (default 3). Targets: fan-out at least half the local rate, chain
 * hop p99 under 10 ms.
 *
 *   npm run bench:distributed [-- --tasks 1000 --chain 200 --reps 3]
 *
 * Results: bench/results/distributed-latest.md and .json.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Queue } from "bullmq";
import pg from "pg";
import { triggerDagRun } from "../src/operations/trigger-run.ts";
import { openDatabase, type Database } from "../src/storage/database.ts";
import { dagStore } from "../src/storage/dags.ts";
import { freePort } from "../src/test-support/distributed.ts";
import { startService, updraft, type ServiceProcess } from "../src/test-support/service-process.ts";

const { values } = parseArgs({
  options: {
    tasks: { type: "string", default: "1000" },
    chain: { type: "string", default: "200" },
    reps: { type: "string", default: "3" },
    cases: { type: "string", default: "local,bullmq,plain" },
  },
});
const N = Number(values.tasks);
const CHAIN = Number(values.chain);
const REPS = Number(values.reps);
const CASES = new Set(values.cases.split(","));
const PG_ROOT = process.env.UPDRAFT_BENCH_PG_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
const REDIS_URL = process.env.UPDRAFT_BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";
const DB_NAME = "updraft_bench_distributed";
const progress = (text: string) =>
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${text}\n`);

const DAGS = {
  "fan_ts.ts": `import { dag, task, empty } from "updraft";
export default dag({ dagId: "fan_ts", maxActiveTasks: 32 }, () => {
  const start = empty("start"); const end = empty("end");
  const noop = task("noop", () => null);
  for (let i = 0; i < ${N}; i++) { const t = noop(); start.before(t); t.before(end); }
});`,
  "chain.ts": `import { dag, bash } from "updraft";
export default dag({ dagId: "chain" }, () => {
  let prev = bash("c0", { command: "true" });
  for (let i = 1; i < ${CHAIN}; i++) { const t = bash("c" + i, { command: "true" }); prev.before(t); prev = t; }
});`,
};

// --- a fresh PostgreSQL database and a home for the control processes ---
const admin = new pg.Client({ connectionString: PG_ROOT });
await admin.connect();
await admin.query(`DROP DATABASE IF EXISTS ${DB_NAME} WITH (FORCE)`);
await admin.query(`CREATE DATABASE ${DB_NAME}`);
await admin.end();
const dbUrl = Object.assign(new URL(PG_ROOT), { pathname: `/${DB_NAME}` }).toString();
const home = mkdtempSync(join(tmpdir(), "updraft-bench-dist-"));
mkdirSync(join(home, "dags"));
for (const [name, text] of Object.entries(DAGS)) writeFileSync(join(home, "dags", name), text);
const prefix = `bench${Date.now().toString(36)}`;
const base: Record<string, string> = {
  ...(process.env as Record<string, string>),
  UPDRAFT_HOME: home,
  UPDRAFT__DATABASE__URL: dbUrl,
  UPDRAFT__CORE__DAGS_FOLDER: join(home, "dags"),
  UPDRAFT__CORE__LOAD_EXAMPLES: "false",
  UPDRAFT__CORE__DAGS_ARE_PAUSED_AT_CREATION: "false",
  UPDRAFT__METRICS__SCHEDULER_PORT: "0",
  UPDRAFT__LOGGING__LEVEL: "warn",
  UPDRAFT__BULLMQ__REDIS_URL: REDIS_URL,
  UPDRAFT__BULLMQ__KEY_PREFIX: prefix,
};
const migrated = await updraft(["db", "migrate"], base);
if (migrated.code !== 0) throw new Error(migrated.stderr);
const database = openDatabase(dbUrl);
/** Every service this run started: stopped on the way out, however the run ends (Ctrl-C, a timeout). */
const started: ServiceProcess[] = [];
const killAll = () => {
  for (const s of started) if (s.alive()) s.child.kill("SIGKILL");
};
process.once("exit", killAll);
for (const signal of ["SIGINT", "SIGTERM"] as const)
  process.once(signal, () => {
    killAll();
    process.exit(130);
  });
const service = (args: string[], env: Record<string, string>) => {
  const s = startService(args, env);
  started.push(s);
  return s;
};

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface CaseResult {
  fanMs: number[];
  fanRate: number[];
  hopP50: number[];
  hopP99: number[];
}

let runNo = 0;
async function runToEnd(dagId: string): Promise<{ ms: number; id: number }> {
  const started = performance.now();
  const run = await triggerDagRun(database, { dagId, runId: `bench_${dagId}_${++runNo}` });
  for (;;) {
    const r = await database.db
      .selectFrom("dag_run")
      .select("state")
      .where("id", "=", run.id)
      .executeTakeFirstOrThrow();
    if (r.state === "success") return { ms: performance.now() - started, id: run.id };
    if (r.state === "failed") throw new Error(`${dagId} failed`);
    await new Promise((res) => setTimeout(res, 10));
  }
}

async function hops(db: Database, runId: number): Promise<number[]> {
  const rows = await db.db
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

async function measureUpdraft(label: string): Promise<CaseResult> {
  const out: CaseResult = { fanMs: [], fanRate: [], hopP50: [], hopP99: [] };
  await runToEnd("fan_ts"); // warm-up: workers and TaskFlow processes started, DAG modules loaded
  for (let r = 0; r < REPS; r++) {
    const fan = await runToEnd("fan_ts");
    out.fanMs.push(fan.ms);
    out.fanRate.push((N + 2) / (fan.ms / 1000));
    const chain = await runToEnd("chain");
    const gaps = await hops(database, chain.id);
    out.hopP50.push(pct(gaps, 50));
    out.hopP99.push(pct(gaps, 99));
    progress(
      `${label} rep ${r + 1}: fan ${(fan.ms / 1000).toFixed(2)} s, chain p50 ${pct(gaps, 50)} ms p99 ${pct(gaps, 99)} ms`,
    );
  }
  return out;
}

async function parsed(): Promise<void> {
  for (;;) {
    if ((await dagStore(database).get("fan_ts")) && (await dagStore(database).get("chain"))) return;
    await new Promise((res) => setTimeout(res, 100));
  }
}

const results: Record<string, CaseResult> = {};

if (CASES.has("local")) {
  progress("local executor: one updraft scheduler");
  const scheduler = service(["scheduler"], { ...base, UPDRAFT__CORE__EXECUTOR: "local" });
  await parsed();
  results.local = await measureUpdraft("local");
  await scheduler.stop(30_000);
}

if (CASES.has("bullmq")) {
  progress("bullmq executor: updraft scheduler + webserver + 2 workers");
  const port = await freePort();
  const env = { ...base, UPDRAFT__CORE__EXECUTOR: "bullmq" };
  const services: ServiceProcess[] = [
    service(["webserver", "--port", String(port)], { ...env, UPDRAFT__LOGGING__LEVEL: "info" }),
  ];
  await services[0]!.waitFor(/webserver listening/, 30_000);
  services.push(service(["scheduler"], env));
  for (const name of ["w1", "w2"]) {
    const wHome = mkdtempSync(join(tmpdir(), `updraft-bench-${name}-`));
    const wEnv: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env))
      if (v !== undefined && !k.startsWith("UPDRAFT")) wEnv[k] = v;
    Object.assign(wEnv, {
      UPDRAFT_HOME: wHome,
      UPDRAFT__CORE__DAGS_FOLDER: join(home, "dags"),
      UPDRAFT__CORE__EXECUTION_API_SERVER_URL: `http://127.0.0.1:${port}/execution/`,
      UPDRAFT__BULLMQ__REDIS_URL: REDIS_URL,
      UPDRAFT__BULLMQ__KEY_PREFIX: prefix,
      UPDRAFT__LOGGING__LEVEL: "info",
    });
    const worker = service(["worker", "--hostname", name, "--concurrency", "16"], wEnv);
    services.push(worker);
    await worker.waitFor(/worker started/, 30_000);
  }
  await parsed();
  const watchdog = setInterval(() => {
    for (const s of services)
      for (const l of s.lines.splice(0))
        if (l.level >= 40)
          progress(
            `${s.child.spawnargs.slice(2, 4).join(" ")}: ${l.msg} ${JSON.stringify(l.err ?? "").slice(0, 300)}`,
          );
  }, 1000);
  results.bullmq = await measureUpdraft("bullmq");
  clearInterval(watchdog);
  for (const s of services) await s.stop(30_000);
  // The run's keys go with it (a prefix of its own on a shared Redis).
  const { Redis } = await import("ioredis");
  const redis = new Redis(REDIS_URL);
  for (let cursor = "0"; ;) {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
    if (keys.length) await redis.del(...keys);
    cursor = next;
    if (cursor === "0") break;
  }
  redis.disconnect();
}

if (CASES.has("plain")) {
  progress("plain BullMQ: a queue and 2 worker processes of concurrency 16");
  results.plain = await plainBullmq();
}

/**
 * The floor: BullMQ alone. The fan: N no-op jobs added in bulk, makespan to the last completion.
 * The chain: each job runs `true` as a process (as the bash tasks do) and adds the next job when it
 * ends; a job's start minus its predecessor's end is the hop.
 */
async function plainBullmq(): Promise<CaseResult> {
  const queueName = `${prefix}_plain`;
  const connection = {
    host: new URL(REDIS_URL).hostname,
    port: Number(new URL(REDIS_URL).port || 6379),
    maxRetriesPerRequest: null,
  };
  const queue = new Queue(queueName, { connection });
  const workerScript = `
    import { Worker, Queue } from "bullmq";
    import { spawn } from "node:child_process";
    const connection = ${JSON.stringify(connection)};
    const queue = new Queue(${JSON.stringify(queueName)}, { connection });
    new Worker(${JSON.stringify(queueName)}, async (job) => {
      const startedAt = Date.now();
      if (job.name === "noop") return null;
      await new Promise((res) => spawn("bash", ["-c", "true"], { stdio: "ignore" }).on("close", res));
      const endedAt = Date.now();
      if (job.data.prevEnd) process.stdout.write("hop " + (startedAt - job.data.prevEnd) + "\\n");
      if (job.data.i + 1 < job.data.n) await queue.add("c", { i: job.data.i + 1, n: job.data.n, prevEnd: endedAt, run: job.data.run }, { removeOnComplete: true });
      else process.stdout.write("chain-done " + job.data.run + "\\n");
      return null;
    }, { connection, concurrency: 16 });
    process.stdout.write("ready\\n");
  `;
  const workers: ChildProcess[] = [];
  const hopsSeen: number[] = [];
  const chainDone = new Set<string>();
  for (let w = 0; w < 2; w++) {
    const child = spawn(process.execPath, ["--input-type=module", "-e", workerScript], {
      stdio: ["ignore", "pipe", "inherit"],
      cwd: import.meta.dirname,
    });
    let buffer = "";
    child.stdout!.on("data", (d: Buffer) => {
      buffer += d.toString();
      const lines = buffer.split("\n");
      buffer = lines.pop()!;
      for (const line of lines) {
        if (line.startsWith("hop ")) hopsSeen.push(Number(line.slice(4)));
        if (line.startsWith("chain-done ")) chainDone.add(line.slice(11));
      }
    });
    workers.push(child);
    await new Promise<void>((res) => child.stdout!.once("data", () => res()));
  }
  const out: CaseResult = { fanMs: [], fanRate: [], hopP50: [], hopP99: [] };
  const fanOnce = async () => {
    const started = performance.now();
    const jobs = await queue.addBulk(
      Array.from({ length: N + 2 }, () => ({ name: "noop", data: {}, opts: { removeOnComplete: true } })),
    );
    void jobs;
    for (;;) {
      const counts = await queue.getJobCounts("waiting", "active", "prioritized");
      if ((counts.waiting ?? 0) + (counts.active ?? 0) + (counts.prioritized ?? 0) === 0) break;
      await new Promise((res) => setTimeout(res, 5));
    }
    return performance.now() - started;
  };
  const chainOnce = async (run: string) => {
    hopsSeen.length = 0;
    await queue.add("c", { i: 0, n: CHAIN, prevEnd: 0, run }, { removeOnComplete: true });
    while (!chainDone.has(run)) await new Promise((res) => setTimeout(res, 10));
    return [...hopsSeen].sort((a, b) => a - b);
  };
  await fanOnce();
  for (let r = 0; r < REPS; r++) {
    const ms = await fanOnce();
    out.fanMs.push(ms);
    out.fanRate.push((N + 2) / (ms / 1000));
    const gaps = await chainOnce(`r${r}`);
    out.hopP50.push(pct(gaps, 50));
    out.hopP99.push(pct(gaps, 99));
    progress(
      `plain rep ${r + 1}: fan ${(ms / 1000).toFixed(2)} s, chain p50 ${pct(gaps, 50)} ms p99 ${pct(gaps, 99)} ms`,
    );
  }
  for (const w of workers) w.kill("SIGTERM");
  await queue.obliterate({ force: true });
  await queue.close();
  return out;
}

// --- report ---
const label: Record<string, string> = {
  local: "Updraft, local executor (1 scheduler)",
  bullmq: "Updraft, bullmq executor (scheduler + webserver + 2 workers)",
  plain: "plain BullMQ (2 worker processes, no orchestration)",
};
const rows = Object.entries(results).map(([k, r]) => ({
  case: label[k]!,
  fanSeconds: median(r.fanMs) / 1000,
  fanRate: median(r.fanRate),
  hopP50: median(r.hopP50),
  hopP99: median(r.hopP99),
}));
const local = rows.find((r) => r.case === label.local);
const dist = rows.find((r) => r.case === label.bullmq);
const verdicts: string[] = [];
if (local && dist) {
  const ratio = dist.fanRate / local.fanRate;
  verdicts.push(
    `fan-out: bullmq ${ratio.toFixed(2)}x the local executor's rate (target >= 0.5): ${ratio >= 0.5 ? "met" : "NOT met"}`,
  );
}
if (dist)
  verdicts.push(
    `chain hop p99 through workers: ${dist.hopP99} ms (target < 10 ms): ${dist.hopP99 < 10 ? "met" : "NOT met"}`,
  );
const md = [
  `# Distributed execution benchmark`,
  ``,
  `- Command: \`npm run bench:distributed -- --tasks ${N} --chain ${CHAIN} --reps ${REPS}\``,
  `- Date: ${new Date().toISOString()}; machine: ${cpus().length} cores (${cpus()[0]?.model ?? "?"}), Node ${process.version}`,
  `- Database: PostgreSQL (${DB_NAME}); Redis: ${REDIS_URL.replace(/\/\/[^@]*@/, "//***@")}; default settings (logs written and compressed); medians of ${REPS}, after one warm-up fan-out`,
  ``,
  `| case | fan-out 1 -> ${N} no-op TS -> 1 | task instances/s | ${CHAIN}-task bash chain hop p50 | p99 |`,
  `|---|---|---|---|---|`,
  ...rows.map(
    (r) =>
      `| ${r.case} | ${r.fanSeconds.toFixed(2)} s | ${r.fanRate.toFixed(0)} | ${r.hopP50} ms | ${r.hopP99} ms |`,
  ),
  ``,
  ...verdicts.map((v) => `- ${v}`),
  ``,
].join("\n");
process.stdout.write(`\n${md}`);
const dir = join(import.meta.dirname, "results");
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, "distributed-latest.md"), md);
writeFileSync(
  join(dir, "distributed-latest.json"),
  JSON.stringify({ N, CHAIN, REPS, results, rows }, null, 2) + "\n",
);
await database.close();
rmSync(home, { recursive: true, force: true });
