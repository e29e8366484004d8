/**
 * The API at a million task instances, as an operator meets it (issue 14): a metadata database
 * filled with 100,000 runs and 1,000,000 task instances (bench/api-scale-fill.ts), a real
 * `updraft webserver` process with default settings, and 57 request shapes over real sockets: every
 * list with its common filters, orders and deep pages, the grid's reads, the details pages and
 * /metrics. Each shape: p50/p90/p99/max of N requests from one client, then from four at once.
 * Baseline in the same run: GET /api/v2/version (no database). Target: p99 under 50 ms. Last row: a
 * 1 ms request while two clients read deep pages (on SQLite, the reads must not stall the process).
 *
 *   npm run bench:api-scale [-- --databases sqlite,postgres --runs 1000 --requests 100]
 * Results: bench/results/api-scale-<date>.md and .json (and api-scale-latest.*).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import {
  assertBuilt,
  startService,
  UPDRAFT_BIN,
  type ServiceProcess,
} from "../src/test-support/service-process.ts";
import { fillDatabase, type FillSize } from "./api-scale-fill.ts";

const { values } = parseArgs({
  options: {
    databases: { type: "string", default: "sqlite,postgres" },
    dags: { type: "string", default: "100" },
    runs: { type: "string", default: "1000" },
    tasks: { type: "string", default: "10" },
    requests: { type: "string", default: "100" },
  },
});
const SIZE: FillSize = { dags: Number(values.dags), runs: Number(values.runs), tasks: Number(values.tasks) };
const REQUESTS = Number(values.requests);
const POSTGRES_URL = process.env.UPDRAFT_TEST_POSTGRES_URL ?? "postgresql://postgres@127.0.0.1:5432/test";
const TARGET_MS = 50;
const PASSWORD = "bench-admin-password";
const progress = (text: string) => process.stderr.write(`  ${text}\n`);

/** A DAG and a run in the middle of the history. */
const DAG = `dag_${String(Math.floor(SIZE.dags / 2)).padStart(3, "0")}`;
const RUN = `scheduled__${String(Math.floor(SIZE.runs / 2)).padStart(4, "0")}`;
const TOTAL_RUNS = SIZE.dags * SIZE.runs;
const TOTAL_TIS = TOTAL_RUNS * SIZE.tasks;
const deep = (total: number) => Math.max(0, total - 50);

type Shape = [name: string, path: string, body?: unknown];
const SHAPES: Shape[] = [
  ["baseline: version (no database)", "/api/v2/version"],
  ["health", "/api/v2/monitor/health"],
  ["dags: first page", "/api/v2/dags?limit=50"],
  ["dags: tag + paused filter", "/api/v2/dags?tags=team_a&paused=false&limit=50"],
  ["dags: dag_id_pattern, -dag_id", "/api/v2/dags?dag_id_pattern=dag_01&order_by=-dag_id"],
  ["dags: order by -next_dagrun", "/api/v2/dags?order_by=-next_dagrun&limit=50"],
  ["dag: details", `/api/v2/dags/${DAG}/details`],
  ["dag: tasks", `/api/v2/dags/${DAG}/tasks`],
  [
    "dagStats: 10 DAGs",
    `/api/v2/dagStats?${Array.from({ length: 10 }, (_, i) => `dag_ids=dag_${String(i).padStart(3, "0")}`).join("&")}`,
  ],
  ["dagRuns: one DAG, default order", `/api/v2/dags/${DAG}/dagRuns?limit=50`],
  ["dagRuns: one DAG, -logical_date", `/api/v2/dags/${DAG}/dagRuns?limit=50&order_by=-logical_date`],
  ["dagRuns: one DAG, -run_after", `/api/v2/dags/${DAG}/dagRuns?limit=50&order_by=-run_after`],
  ["dagRuns: one DAG, -duration", `/api/v2/dags/${DAG}/dagRuns?limit=50&order_by=-duration`],
  ["dagRuns: one DAG, failed", `/api/v2/dags/${DAG}/dagRuns?state=failed&limit=50`],
  [
    "dagRuns: one DAG, logical_date range",
    `/api/v2/dags/${DAG}/dagRuns?logical_date_gte=2024-06-01T00:00:00Z&logical_date_lt=2024-07-01T00:00:00Z`,
  ],
  ["dagRuns: all, default order", "/api/v2/dags/~/dagRuns?limit=50"],
  ["dagRuns: all, -start_date", "/api/v2/dags/~/dagRuns?limit=50&order_by=-start_date"],
  ["dagRuns: all, -logical_date", "/api/v2/dags/~/dagRuns?limit=50&order_by=-logical_date"],
  ["dagRuns: all, -end_date", "/api/v2/dags/~/dagRuns?limit=50&order_by=-end_date"],
  ["dagRuns: all, -duration", "/api/v2/dags/~/dagRuns?limit=50&order_by=-duration"],
  ["dagRuns: all, duration_gte", "/api/v2/dags/~/dagRuns?limit=50&duration_gte=3000"],
  ["dagRuns: all, failed", "/api/v2/dags/~/dagRuns?state=failed&limit=50"],
  ["dagRuns: all, running", "/api/v2/dags/~/dagRuns?state=running&limit=50"],
  ["dagRuns: all, deep offset", `/api/v2/dags/~/dagRuns?limit=50&offset=${deep(TOTAL_RUNS)}`],
  [
    "dagRuns: batch list, 3 DAGs",
    "/api/v2/dags/~/dagRuns/list",
    { dag_ids: ["dag_001", "dag_002", "dag_003"], page_limit: 100 },
  ],
  ["grid: run count", `/api/v2/dags/${DAG}/dagRuns?limit=0`],
  [
    "grid: newest run block (newest first)",
    `/api/v2/dags/${DAG}/dagRuns?limit=20&offset=0&order_by=-run_after&order_by=-id`,
  ],
  ["grid: oldest run block", `/api/v2/dags/${DAG}/dagRuns?limit=20&offset=0&order_by=run_after&order_by=id`],
  [
    "grid: cells of 20 runs x 10 tasks",
    "/api/v2/dags/~/dagRuns/~/taskInstances/list",
    {
      dag_ids: [DAG],
      dag_run_ids: Array.from(
        { length: 20 },
        (_, i) => `scheduled__${String(SIZE.runs - 1 - i).padStart(4, "0")}`,
      ),
      page_limit: 1000,
    },
  ],
  ["dagRun: one", `/api/v2/dags/${DAG}/dagRuns/${RUN}`],
  ["taskInstances: one run", `/api/v2/dags/${DAG}/dagRuns/${RUN}/taskInstances`],
  ["taskInstances: one DAG, failed", `/api/v2/dags/${DAG}/dagRuns/~/taskInstances?state=failed&limit=50`],
  [
    "taskInstances: one DAG, -start_date",
    `/api/v2/dags/${DAG}/dagRuns/~/taskInstances?limit=50&order_by=-start_date`,
  ],
  ["taskInstances: all, default order", "/api/v2/dags/~/dagRuns/~/taskInstances?limit=50"],
  [
    "taskInstances: all, default order, deep",
    `/api/v2/dags/~/dagRuns/~/taskInstances?limit=50&offset=${deep(TOTAL_TIS)}`,
  ],
  ["taskInstances: all, -start_date", "/api/v2/dags/~/dagRuns/~/taskInstances?limit=50&order_by=-start_date"],
  ["taskInstances: all, start_date", "/api/v2/dags/~/dagRuns/~/taskInstances?limit=50&order_by=start_date"],
  ["taskInstances: all, -end_date", "/api/v2/dags/~/dagRuns/~/taskInstances?limit=50&order_by=-end_date"],
  ["taskInstances: all, -duration", "/api/v2/dags/~/dagRuns/~/taskInstances?limit=50&order_by=-duration"],
  [
    "taskInstances: all, -logical_date",
    "/api/v2/dags/~/dagRuns/~/taskInstances?limit=50&order_by=-logical_date",
  ],
  ["taskInstances: all, running", "/api/v2/dags/~/dagRuns/~/taskInstances?state=running&limit=50"],
  ["taskInstances: all, failed", "/api/v2/dags/~/dagRuns/~/taskInstances?state=failed&limit=50"],
  ["taskInstances: all, pool filter", "/api/v2/dags/~/dagRuns/~/taskInstances?pool=default_pool&limit=50"],
  [
    "taskInstances: batch, 3 DAGs failed",
    "/api/v2/dags/~/dagRuns/~/taskInstances/list",
    { dag_ids: ["dag_001", "dag_002", "dag_003"], state: ["failed"], page_limit: 100 },
  ],
  ["taskInstance: one", `/api/v2/dags/${DAG}/dagRuns/${RUN}/taskInstances/t3`],
  ["taskInstance: tries", `/api/v2/dags/${DAG}/dagRuns/${RUN}/taskInstances/t9/tries`],
  ["xcomEntries: one task", `/api/v2/dags/${DAG}/dagRuns/${RUN}/taskInstances/t0/xcomEntries`],
  ["xcomEntries: one DAG", `/api/v2/dags/${DAG}/dagRuns/~/taskInstances/~/xcomEntries?limit=50`],
  ["xcomEntries: all", "/api/v2/dags/~/dagRuns/~/taskInstances/~/xcomEntries?limit=50"],
  ["eventLogs: newest first", "/api/v2/eventLogs?limit=50&order_by=-when"],
  ["eventLogs: one DAG", `/api/v2/eventLogs?dag_id=${DAG}&limit=50`],
  ["eventLogs: event filter", "/api/v2/eventLogs?event=patch_dag&limit=50"],
  ["importErrors", "/api/v2/importErrors?limit=50"],
  ["pools", "/api/v2/pools"],
  ["variables", "/api/v2/variables?limit=50"],
  ["connections", "/api/v2/connections?limit=50"],
  ["metrics: a scrape", "/metrics"],
];

interface Stats {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}
interface Row {
  shape: string;
  one: Stats;
  four: Stats;
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const stats = (samples: number[]): Stats => {
  const s = [...samples].sort((a, b) => a - b);
  return { p50: pct(s, 50), p90: pct(s, 90), p99: pct(s, 99), max: s.at(-1)! };
};

async function request(base: string, token: string, [name, path, body]: Shape): Promise<number> {
  const started = performance.now();
  const response = await fetch(`${base}${path}`, {
    method: body ? "POST" : "GET",
    headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  const ms = performance.now() - started;
  if (!response.ok) throw new Error(`${name}: ${path} answered ${response.status}: ${text.slice(0, 300)}`);
  return ms;
}

async function measure(base: string, token: string, shape: Shape): Promise<Row> {
  for (let i = 0; i < 3; i++) await request(base, token, shape);
  const one: number[] = [];
  for (let i = 0; i < REQUESTS; i++) one.push(await request(base, token, shape));
  const four: number[] = [];
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      for (let i = 0; i < Math.ceil(REQUESTS / 4); i++) four.push(await request(base, token, shape));
    }),
  );
  return { shape: shape[0], one: stats(one), four: stats(four) };
}

/** A 1 ms request's latency while two clients read deep pages of task instances. */
async function underLoad(base: string, token: string): Promise<Row> {
  const heavy: Shape = SHAPES.find(([n]) => n === "taskInstances: all, default order, deep")!;
  let on = true;
  const load = Array.from({ length: 2 }, async () => {
    while (on) await request(base, token, heavy);
  });
  await new Promise((r) => setTimeout(r, 200));
  const one: number[] = [];
  for (let i = 0; i < REQUESTS; i++) {
    one.push(await request(base, token, SHAPES[1]!));
    await new Promise((r) => setTimeout(r, 5));
  }
  on = false;
  await Promise.all(load);
  const s = stats(one);
  return { shape: "health while 2 clients read deep task-instance pages", one: s, four: s };
}

async function openTarget(
  name: string,
): Promise<{ url: string; childUrl: string; schema?: string; drop(): Promise<void> }> {
  if (name === "sqlite") {
    const dir = mkdtempSync(join(tmpdir(), "updraft-bench-scale-"));
    const url = `sqlite:///${join(dir, "updraft.db")}`;
    return { url, childUrl: url, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const schema = `updraft_bench_scale_${process.pid}`;
  const u = new URL(POSTGRES_URL);
  u.searchParams.set("options", `-c search_path=${schema}`);
  return {
    url: POSTGRES_URL,
    childUrl: u.toString(),
    schema,
    drop: async () => {
      const client = new pg.Client(POSTGRES_URL);
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await client.end();
    },
  };
}

const vmRss = (pid: number) => {
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    return kb ? Math.round(Number(kb) / 1024) : undefined;
  } catch {
    return undefined;
  }
};

assertBuilt();
const report: Record<string, { fillSeconds: number; rssMiB?: number; rows: Row[] }> = {};
for (const name of values.databases.split(",")) {
  process.stderr.write(`${name}:\n`);
  const target = await openTarget(name);
  const home = mkdtempSync(join(tmpdir(), "updraft-bench-scale-home-"));
  let server: ServiceProcess | undefined;
  try {
    const started = performance.now();
    await fillDatabase({ url: target.url, postgresSchema: target.schema, home, size: SIZE, progress });
    const fillSeconds = Math.round((performance.now() - started) / 1000);
    progress(`filled in ${fillSeconds} s; starting updraft webserver`);
    const port = 19_000 + (process.pid % 1000);
    const env = {
      ...(process.env as Record<string, string>),
      UPDRAFT_HOME: home,
      UPDRAFT__DATABASE__URL: target.childUrl,
      UPDRAFT__CORE__DAGS_FOLDER: join(home, "dags"),
      UPDRAFT__CORE__LOAD_EXAMPLES: "false",
    };
    const created = spawnSync(
      process.execPath,
      [UPDRAFT_BIN, "users", "create", "-u", "bench", "-r", "Admin", "-p", PASSWORD],
      { env, encoding: "utf8" },
    );
    if (created.status !== 0) throw new Error(`users create: ${created.stderr}`);
    server = startService(["webserver", "--port", String(port)], env);
    await server.waitFor(/webserver listening/, 60_000);
    const base = `http://127.0.0.1:${port}`;
    const login = await fetch(`${base}/auth/token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "bench", password: PASSWORD }),
    });
    const { access_token: token } = (await login.json()) as { access_token: string };
    const rows: Row[] = [];
    for (const [i, shape] of SHAPES.entries()) {
      const row = await measure(base, token, shape);
      rows.push(row);
      progress(
        `${i + 1}/${SHAPES.length} ${shape[0]}: p50 ${row.one.p50.toFixed(1)} p99 ${row.one.p99.toFixed(1)} ms; four clients p99 ${row.four.p99.toFixed(1)} ms`,
      );
    }
    rows.push(await underLoad(base, token));
    report[name] = { fillSeconds, rssMiB: vmRss(server.child.pid!), rows };
  } finally {
    await server?.stop(10_000);
    rmSync(home, { recursive: true, force: true });
    await target.drop();
  }
}

const f = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(1));
const mark = (s: Stats) => (s.p99 > TARGET_MS ? " ✗" : "");
let md = `# API at scale: ${TOTAL_RUNS.toLocaleString("en")} runs, ${TOTAL_TIS.toLocaleString("en")} task instances\n\n`;
md += `\`npm run bench:api-scale\` (packages/updraft), ${new Date().toISOString().slice(0, 10)}: a real \`updraft webserver\` (default settings) over real sockets, ${REQUESTS} requests per shape from one client, then ${REQUESTS} from four at once; ms. ✗: p99 over ${TARGET_MS} ms. ${cpus().length} cores, Node ${process.version}.\n`;
for (const [name, r] of Object.entries(report)) {
  const misses = r.rows.filter((row) => row.one.p99 > TARGET_MS || row.four.p99 > TARGET_MS).length;
  md += `\n## ${name}: filled in ${r.fillSeconds} s; webserver RSS after ${r.rssMiB ?? "?"} MiB; ${misses} of ${r.rows.length} rows miss the target\n\n`;
  md +=
    "| request | p50 | p90 | p99 | max | 4 clients p50 | p99 | max |\n|---|---|---|---|---|---|---|---|\n";
  for (const row of r.rows)
    md += `| ${row.shape} | ${f(row.one.p50)} | ${f(row.one.p90)} | ${f(row.one.p99)}${mark(row.one)} | ${f(row.one.max)} | ${f(row.four.p50)} | ${f(row.four.p99)}${mark(row.four)} | ${f(row.four.max)} |\n`;
}
process.stdout.write(md);
const dir = join(import.meta.dirname, "results");
mkdirSync(dir, { recursive: true });
const stamp = new Date().toISOString().slice(0, 10);
const json = JSON.stringify(
  { size: SIZE, requests: REQUESTS, node: process.version, cores: cpus().length, report },
  null,
  2,
);
for (const file of [`api-scale-${stamp}`, "api-scale-latest"]) {
  writeFileSync(join(dir, `${file}.md`), md);
  writeFileSync(join(dir, `${file}.json`), json + "\n");
}
process.stderr.write(`results in ${dir}/api-scale-${stamp}.md\n`);
