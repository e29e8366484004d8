/**
 * `db clean` at scale: 10,000 finished runs of 10 DAGs, each with 10 task instances, 10 finished tries
 * and 10 XComs (310,000 rows), cleaned with the default batch size, archived and not, on SQLite,
 * PostgreSQL and MariaDB. Reports the whole clean's time and the longest batch (how long one
 * transaction holds its locks: on SQLite, the database's one write lock).
 *
 *   npm run bench:db-clean [-- --databases sqlite,postgres,mysql --runs 10000 --tasks 10 --batch-size 1000]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { sql } from "kysely";
import { createConnection } from "mysql2/promise";
import pg from "pg";
import { cleanMetadata, planClean } from "../src/operations/db-clean.ts";
import { openDatabase, type Database } from "../src/storage/database.ts";
import { migrateDatabase } from "../src/storage/migrate.ts";

const { values } = parseArgs({
  options: {
    databases: { type: "string", default: "sqlite,postgres,mysql" },
    runs: { type: "string", default: "10000" },
    tasks: { type: "string", default: "10" },
    "batch-size": { type: "string", default: "1000" },
  },
});
const RUNS = Number(values.runs);
const TASKS = Number(values.tasks);
const BATCH = Number(values["batch-size"]);
const DAGS = 10;
const POSTGRES_URL = process.env.UPDRAFT_TEST_POSTGRES_URL ?? "postgresql://postgres@127.0.0.1:5432/test";
const MYSQL_URL = process.env.UPDRAFT_TEST_MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test";
const say = (text: string) => process.stderr.write(`  ${text}\n`);

async function open(name: string): Promise<{ database: Database; drop(): Promise<void> }> {
  const unique = `updraft_bench_clean_${process.pid}`;
  if (name === "sqlite") {
    const dir = mkdtempSync(join(tmpdir(), "updraft-bench-clean-"));
    const database = openDatabase(`sqlite:///${join(dir, "updraft.db")}`);
    return { database, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  if (name === "postgres") {
    const database = openDatabase(POSTGRES_URL, { postgresSchema: unique, poolSize: 4 });
    return {
      database,
      drop: async () => {
        const client = new pg.Client(POSTGRES_URL);
        await client.connect();
        await client.query(`DROP SCHEMA IF EXISTS "${unique}" CASCADE`);
        await client.end();
      },
    };
  }
  const admin = await createConnection(MYSQL_URL);
  await admin.query(`CREATE DATABASE \`${unique}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  await admin.end();
  const url = Object.assign(new URL(MYSQL_URL), { pathname: `/${unique}` }).toString();
  return {
    database: openDatabase(url, { poolSize: 4 }),
    drop: async () => {
      const conn = await createConnection(MYSQL_URL);
      await conn.query(`DROP DATABASE IF EXISTS \`${unique}\``);
      await conn.end();
    },
  };
}

/** Runs inserted in chunks; their task instances, tries and XComs made in the database. */
async function fill(database: Database): Promise<void> {
  const { db } = database;
  for (const table of ["xcom", "task_instance_history", "task_instance", "dag_run"] as const)
    await db.deleteFrom(table).execute();
  const start = Date.parse("2024-01-01T00:00:00Z");
  const rows = Array.from({ length: RUNS }, (_, r) => {
    const at = new Date(start + r * 3_600_000).toISOString();
    return {
      dag_id: `dag_${r % DAGS}`,
      run_id: `scheduled__${r}`,
      logical_date: at,
      data_interval_start: at,
      data_interval_end: at,
      run_after: at,
      start_date: at,
      end_date: at,
      state: r % 10 === 3 ? "failed" : "success",
      run_type: "scheduled",
      conf: "{}",
      updated_at: at,
    };
  });
  for (let i = 0; i < rows.length; i += 500)
    await db
      .insertInto("dag_run")
      .values(rows.slice(i, i + 500))
      .execute();
  const tasks = sql.raw(
    Array.from({ length: TASKS }, (_, t) => `select 't${t}' as task_id`).join(" union all "),
  );
  await sql`insert into task_instance (dag_id, run_id, task_id, map_index, dag_run_id, state, try_number,
      max_tries, operator, pool, pool_slots, queue, priority_weight, start_date, end_date, duration,
      rendered_fields, updated_at)
    select r.dag_id, r.run_id, t.task_id, -1, r.id, 'success', 2, 1, 'bash', 'default_pool', 1, 'default',
      1, r.start_date, r.end_date, 1.5, '{"command":"echo hello"}', r.updated_at
    from dag_run r cross join (${tasks}) t`.execute(db);
  await sql`insert into task_instance_history (dag_id, run_id, task_id, map_index, try_number, state,
      start_date, end_date, duration, operator, pool, queue, priority_weight, rendered_fields)
    select dag_id, run_id, task_id, -1, 1, 'failed', start_date, end_date, 1.5, 'bash', 'default_pool',
      'default', 1, rendered_fields
    from task_instance`.execute(db);
  await sql`insert into xcom (dag_run_id, task_id, map_index, ${sql.ref("key")}, dag_id, run_id, value, timestamp)
    select dag_run_id, task_id, -1, 'return_value', dag_id, run_id, '"some value"', end_date
    from task_instance`.execute(db);
}

async function measure(database: Database, archive: boolean) {
  await fill(database);
  const plan = planClean({ before: "2030-01-01", batchSize: BATCH, archive, tables: ["dag_run"] });
  // The time between two batches' starts is one batch: its transaction, and so its locks.
  const batches: number[] = [];
  let last = 0;
  const t0 = performance.now();
  const result = await cleanMetadata(database, plan, {
    beforeBatch: async () => {
      const now = performance.now();
      if (last > 0) batches.push(now - last);
      last = now;
    },
  });
  const seconds = (performance.now() - t0) / 1000;
  batches.sort((a, b) => a - b);
  const median = batches[Math.floor(batches.length / 2)] ?? 0;
  const longest = batches.at(-1) ?? 0;
  const rowsGone = Object.values(result.counts).reduce((a, b) => a + b, 0);
  return { seconds, median, longest, rowsGone, runs: result.counts.dag_run };
}

const table: string[] = [
  `${RUNS} runs x ${TASKS} tasks (task instances, tries, XComs each), batch size ${BATCH}`,
  "",
  "| database | archive | runs | rows deleted | total | batch: median | batch: longest |",
  "|---|---|---|---|---|---|---|",
];
for (const name of values.databases.split(",")) {
  process.stderr.write(`${name}:\n`);
  const { database, drop } = await open(name);
  try {
    await migrateDatabase(database);
    for (const archive of [true, false]) {
      const m = await measure(database, archive);
      say(`archive ${archive}: ${m.rowsGone} rows in ${m.seconds.toFixed(2)} s`);
      table.push(
        `| ${name} | ${archive ? "yes" : "no"} | ${m.runs} | ${m.rowsGone} | ${m.seconds.toFixed(2)} s | ${m.median.toFixed(0)} ms | ${m.longest.toFixed(0)} ms |`,
      );
    }
  } finally {
    await database.close();
    await drop();
  }
}
process.stdout.write(table.join("\n") + "\n");
