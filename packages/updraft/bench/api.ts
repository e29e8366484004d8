/**
 * API list endpoints at scale: with 1,000,000 task-instance rows (100 DAGs x 1,000 runs x 10 tasks),
 * 100,000 runs and 100,000 event-log rows, the p50 and p99 of the main list endpoints with their
 * common filters, on SQLite and PostgreSQL. Baseline in the same run: GET /api/v2/version (the
 * framework's floor: routing, auth, serialization, no database). Target: p99 under 50 ms.
 * Requests go through Fastify's inject (the whole server path, no socket).
 *
 *   npm run bench:api [-- --databases sqlite,postgres --runs 1000 --requests 100]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { sql } from "kysely";
import pg from "pg";
import { pino } from "pino";
import { buildApi } from "../src/api/app.ts";
import { hashPassword } from "../src/api/auth/passwords.ts";
import { loadConfig } from "../src/config/load.ts";
import { processDagFiles } from "../src/dag-processing/processor.ts";
import { createCipher } from "../src/secrets/cipher.ts";
import { openDatabase, type Database } from "../src/storage/database.ts";
import { migrateDatabase } from "../src/storage/migrate.ts";
import { userStore } from "../src/storage/users.ts";

const { values } = parseArgs({
  options: {
    databases: { type: "string", default: "sqlite,postgres" },
    dags: { type: "string", default: "100" },
    runs: { type: "string", default: "1000" },
    tasks: { type: "string", default: "10" },
    events: { type: "string", default: "100000" },
    requests: { type: "string", default: "100" },
  },
});
const DAGS = Number(values.dags);
const RUNS = Number(values.runs);
const TASKS = Number(values.tasks);
const EVENTS = Number(values.events);
const REQUESTS = Number(values.requests);
const POSTGRES_URL = process.env.UPDRAFT_TEST_POSTGRES_URL ?? "postgresql://postgres@127.0.0.1:5432/test";
const progress = (text: string) => process.stderr.write(`  ${text}\n`);

const CASES: [string, string][] = [
  ["baseline: version (no database)", "/api/v2/version"],
  ["dags: first page", "/api/v2/dags?limit=50"],
  ["dags: tag + paused filter", "/api/v2/dags?tags=team_a&paused=false&limit=50"],
  ["dags: dag_id_pattern, order by -dag_id", "/api/v2/dags?dag_id_pattern=dag_01&order_by=-dag_id"],
  ["dagRuns: one DAG, newest first", "/api/v2/dags/dag_042/dagRuns?limit=50&order_by=-logical_date"],
  ["dagRuns: all DAGs, failed", "/api/v2/dags/~/dagRuns?state=failed&limit=50"],
  [
    "dagRuns: one DAG, logical_date range",
    "/api/v2/dags/dag_042/dagRuns?logical_date_gte=2024-06-01T00:00:00Z&logical_date_lt=2024-07-01T00:00:00Z",
  ],
  [
    "taskInstances: one run",
    `/api/v2/dags/dag_042/dagRuns/scheduled__${String(Math.floor(RUNS / 2)).padStart(4, "0")}/taskInstances`,
  ],
  [
    "taskInstances: one DAG, all runs, failed",
    "/api/v2/dags/dag_042/dagRuns/~/taskInstances?state=failed&limit=50",
  ],
  [
    "taskInstances: everything, newest first",
    "/api/v2/dags/~/dagRuns/~/taskInstances?limit=50&order_by=-start_date",
  ],
  ["eventLogs: newest first", "/api/v2/eventLogs?limit=50&order_by=-when"],
  ["eventLogs: one DAG", "/api/v2/eventLogs?dag_id=dag_042&limit=50"],
];

async function open(name: string): Promise<{ database: Database; url: string; drop(): Promise<void> }> {
  if (name === "sqlite") {
    const dir = mkdtempSync(join(tmpdir(), "updraft-bench-api-"));
    const url = `sqlite:///${join(dir, "updraft.db")}`;
    return {
      database: openDatabase(url),
      url,
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const schema = `updraft_bench_${process.pid}`;
  return {
    database: openDatabase(POSTGRES_URL, { postgresSchema: schema, poolSize: 4 }),
    url: POSTGRES_URL,
    drop: async () => {
      const client = new pg.Client(POSTGRES_URL);
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await client.end();
    },
  };
}

async function fill(database: Database, home: string): Promise<void> {
  const config = loadConfig({ env: { UPDRAFT_HOME: home, UPDRAFT__CORE__LOAD_EXAMPLES: "false" } });
  mkdirSync(join(home, "dags"), { recursive: true });
  for (let d = 0; d < DAGS; d++) {
    const id = `dag_${String(d).padStart(3, "0")}`;
    const tasks = Array.from({ length: TASKS }, (_, t) => `bash("t${t}", { command: "true" })`).join("; ");
    writeFileSync(
      join(home, "dags", `${id}.ts`),
      `import { dag, bash } from "updraft";
export default dag({ dagId: "${id}", schedule: "@daily", startDate: "2024-01-01", tags: ["${d % 2 ? "team_b" : "team_a"}"] }, () => { ${tasks}; });`,
    );
  }
  await processDagFiles(config, database);
  progress(`${DAGS} DAGs parsed; inserting ${DAGS * RUNS} runs`);
  const day = 86_400_000;
  const start = Date.parse("2024-01-01T00:00:00Z");
  for (let d = 0; d < DAGS; d++) {
    const dagId = `dag_${String(d).padStart(3, "0")}`;
    const rows = Array.from({ length: RUNS }, (_, r) => {
      const logical = new Date(start + r * day).toISOString();
      const end = new Date(start + (r + 1) * day).toISOString();
      return {
        dag_id: dagId,
        run_id: `scheduled__${String(r).padStart(4, "0")}`,
        logical_date: logical,
        data_interval_start: logical,
        data_interval_end: end,
        run_after: end,
        queued_at: end,
        start_date: end,
        end_date: new Date(Date.parse(end) + 60_000).toISOString(),
        state: r % 10 === 3 ? "failed" : "success",
        run_type: "scheduled",
        triggered_by: "timetable",
        conf: "{}",
        updated_at: end,
      };
    });
    for (let i = 0; i < rows.length; i += 500)
      await database.db
        .insertInto("dag_run")
        .values(rows.slice(i, i + 500))
        .execute();
  }
  progress(`inserting ${DAGS * RUNS * TASKS} task instances (one statement, in the database)`);
  const taskList = Array.from({ length: TASKS }, (_, t) => `select 't${t}' as task_id`).join(" union all ");
  await sql`insert into task_instance (dag_id, run_id, task_id, map_index, dag_run_id, state, try_number,
      max_tries, operator, pool, pool_slots, queue, priority_weight, start_date, end_date, duration, updated_at)
    select r.dag_id, r.run_id, t.task_id, -1, r.id,
      case when r.state = 'failed' and t.task_id = 't9' then 'failed' else 'success' end,
      1, 0, 'BashOperator', 'default_pool', 1, 'default', 1, r.start_date, r.end_date, 1.5, r.updated_at
    from dag_run r cross join (${sql.raw(taskList)}) t`.execute(database.db);
  progress(`inserting ${EVENTS} event-log rows`);
  for (let i = 0; i < EVENTS; i += 1000) {
    const rows = Array.from({ length: Math.min(1000, EVENTS - i) }, (_, k) => ({
      dttm: new Date(start + (i + k) * 60_000).toISOString(),
      event: (i + k) % 3 ? "trigger_dag_run" : "patch_dag",
      owner: "admin",
      dag_id: `dag_${String((i + k) % DAGS).padStart(3, "0")}`,
      extra: "{}",
    }));
    await database.db.insertInto("audit_log").values(rows).execute();
  }
  await sql`analyze`.execute(database.db);
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const results = new Map<string, Map<string, [number, number]>>();
for (const name of values.databases.split(",")) {
  process.stderr.write(`${name}:\n`);
  const home = mkdtempSync(join(tmpdir(), "updraft-bench-api-home-"));
  const { database, drop } = await open(name);
  try {
    await migrateDatabase(database);
    const t0 = performance.now();
    await fill(database, home);
    progress(`filled in ${((performance.now() - t0) / 1000).toFixed(0)} s; measuring`);
    const config = loadConfig({ env: { UPDRAFT_HOME: home, UPDRAFT__CORE__LOAD_EXAMPLES: "false" } });
    await userStore(database).create({
      username: "bench",
      role: "Admin",
      passwordHash: await hashPassword("bench"),
    });
    const app = await buildApi({
      config,
      database,
      log: pino({ level: "warn" }),
      cipher: createCipher(config.values.security.encryption_key),
    });
    const login = await app.inject({
      method: "POST",
      url: "/auth/token",
      payload: { username: "bench", password: "bench" },
    });
    const headers = { authorization: `Bearer ${login.json().access_token}` };
    const byCase = new Map<string, [number, number]>();
    for (const [label, url] of CASES) {
      const times: number[] = [];
      for (let i = 0; i < REQUESTS + 5; i++) {
        const began = performance.now();
        const r = await app.inject({ url, headers });
        const ms = performance.now() - began;
        if (r.statusCode !== 200) throw new Error(`${url} answered ${r.statusCode}: ${r.body.slice(0, 300)}`);
        if (i >= 5) times.push(ms);
      }
      times.sort((a, b) => a - b);
      byCase.set(label, [pct(times, 50), pct(times, 99)]);
      progress(`${label}: p50 ${pct(times, 50).toFixed(1)} ms, p99 ${pct(times, 99).toFixed(1)} ms`);
    }
    results.set(name, byCase);
    await app.close();
  } finally {
    await database.close();
    await drop();
    rmSync(home, { recursive: true, force: true });
  }
}

const names = [...results.keys()];
const head = ["endpoint", ...names.flatMap((n) => [`${n} p50`, `${n} p99`])];
const rows = CASES.map(([label]) => [
  label,
  ...names.flatMap((n) =>
    results
      .get(n)!
      .get(label)!
      .map((ms) => `${ms.toFixed(1)} ms`),
  ),
]);
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]) => "| " + cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ") + " |";
console.log([line(head), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n"));
console.log(
  `\n${DAGS * RUNS * TASKS} task instances, ${DAGS * RUNS} runs, ${EVENTS} event logs; ${REQUESTS} requests per case; node ${process.version}`,
);
