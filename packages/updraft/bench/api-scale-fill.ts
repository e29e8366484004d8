/**
 * A metadata database as a year of production leaves it (for bench/api-scale.ts): `dags` DAGs of
 * `tasks` bash tasks, parsed for real, each with `runs` daily runs (mostly successful, every tenth
 * failed, the newest running and the one before queued), a task instance per task and run (varied
 * durations; the running run's instances partly running, partly never started), an XCom per run, a
 * retried try per failed run, 100,000 audit log entries, and a few import errors, pools, variables
 * and connections. Bulk statements in the database do the work (INSERT ... SELECT).
 *
 *   node bench/api-scale-fill.ts --url sqlite:////tmp/big.db [--runs 1000]
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { sql } from "kysely";
import { loadConfig } from "../src/config/load.ts";
import { processDagFiles } from "../src/dag-processing/processor.ts";
import { openDatabase, type Database } from "../src/storage/database.ts";
import { migrateDatabase } from "../src/storage/migrate.ts";

export interface FillSize {
  dags: number;
  runs: number;
  tasks: number;
}

export interface FillOptions {
  url: string;
  postgresSchema?: string;
  /** An UPDRAFT_HOME whose dags/ folder receives the DAG files. */
  home: string;
  size: FillSize;
  events?: number;
  progress?: (text: string) => void;
}

const DAY = 86_400_000;
const START = Date.parse("2024-01-01T00:00:00Z");
const iso = (ms: number) => new Date(ms).toISOString();

export async function fillDatabase(o: FillOptions): Promise<void> {
  const say = o.progress ?? (() => {});
  const database = openDatabase(o.url, { postgresSchema: o.postgresSchema, poolSize: 4 });
  try {
    await migrateDatabase(database);
    await writeDags(database, o);
    say(`${o.size.dags} DAGs parsed; inserting ${(o.size.dags * o.size.runs).toLocaleString("en")} runs`);
    await insertRuns(database, o.size);
    say(`inserting ${(o.size.dags * o.size.runs * o.size.tasks).toLocaleString("en")} task instances`);
    await insertTaskInstances(database, o.size);
    say("inserting XComs, tries, the audit log and the rest");
    await insertTheRest(database, o.events ?? 100_000, o.size);
    // What autovacuum does over a year on PostgreSQL: statistics, and the visibility map that lets
    // index-only scans (counts) skip the table. SQLite: statistics.
    if (database.adapter.name === "postgres") await sql`vacuum analyze`.execute(database.db);
    else await sql`analyze`.execute(database.db);
  } finally {
    await database.close();
  }
}

async function writeDags(database: Database, o: FillOptions): Promise<void> {
  const dags = join(o.home, "dags");
  mkdirSync(dags, { recursive: true });
  for (let d = 0; d < o.size.dags; d++) {
    const id = `dag_${String(d).padStart(3, "0")}`;
    const tasks = Array.from({ length: o.size.tasks }, (_, t) => `bash("t${t}", { command: "true" })`).join(
      "; ",
    );
    writeFileSync(
      join(dags, `${id}.ts`),
      `import { dag, bash } from "updraft";
export default dag({ dagId: "${id}", schedule: "@daily", startDate: "2024-01-01", tags: ["${d % 2 ? "team_b" : "team_a"}"] }, () => { ${tasks}; });`,
    );
  }
  const config = loadConfig({
    env: { UPDRAFT_HOME: o.home, UPDRAFT__CORE__LOAD_EXAMPLES: "false", UPDRAFT__CORE__DAGS_FOLDER: dags },
  });
  await processDagFiles(config, database);
}

async function insertRuns(database: Database, size: FillSize): Promise<void> {
  for (let d = 0; d < size.dags; d++) {
    const dagId = `dag_${String(d).padStart(3, "0")}`;
    const rows = Array.from({ length: size.runs }, (_, r) => {
      const logical = START + r * DAY;
      const end = logical + DAY;
      // The newest run is running, the one before it queued; every tenth failed; durations vary.
      const state =
        r === size.runs - 1
          ? "running"
          : r === size.runs - 2
            ? "queued"
            : r % 10 === 3
              ? "failed"
              : "success";
      // Durations in milliseconds, as real runs have them (few exact ties).
      const ms = 60_000 + ((r * 7919 + d * 104_729) % 3_600_000);
      return {
        dag_id: dagId,
        run_id: `scheduled__${String(r).padStart(4, "0")}`,
        logical_date: iso(logical),
        data_interval_start: iso(logical),
        data_interval_end: iso(end),
        run_after: iso(end),
        queued_at: iso(end),
        start_date: state === "queued" ? null : iso(end),
        end_date: state === "queued" || state === "running" ? null : iso(end + ms),
        duration: state === "queued" || state === "running" ? null : ms / 1000,
        state,
        run_type: "scheduled",
        triggered_by: "timetable",
        conf: "{}",
        updated_at: iso(end),
      };
    });
    for (let i = 0; i < rows.length; i += 500)
      await database.db
        .insertInto("dag_run")
        .values(rows.slice(i, i + 500))
        .execute();
  }
}

/** One INSERT ... SELECT: a task instance per task and run, in the database. */
async function insertTaskInstances(database: Database, size: FillSize): Promise<void> {
  const taskList = Array.from({ length: size.tasks }, (_, t) => `select ${t} as n, 't${t}' as task_id`).join(
    " union all ",
  );
  // Durations vary with the run and the task; a queued run's and half the running run's never started.
  await sql`insert into task_instance (dag_id, run_id, task_id, map_index, dag_run_id, state, try_number,
      max_tries, operator, pool, pool_slots, queue, priority_weight, start_date, end_date, duration, updated_at)
    select r.dag_id, r.run_id, t.task_id, -1, r.id,
      case when r.state = 'queued' then null
           when r.state = 'running' then (case when t.n < ${size.tasks / 2} then 'running' else null end)
           when r.state = 'failed' and t.n = ${size.tasks - 1} then 'failed'
           else 'success' end,
      case when r.state = 'queued' or (r.state = 'running' and t.n >= ${size.tasks / 2}) then 0 else 1 end,
      1, 'BashOperator', 'default_pool', 1, 'default', 1,
      case when r.state = 'queued' or (r.state = 'running' and t.n >= ${size.tasks / 2}) then null else r.start_date end,
      case when r.state in ('queued', 'running') then null else r.end_date end,
      case when r.state in ('queued', 'running') then null else ((r.id * 7919 + t.n * 104729) % 900000) / 1000.0 + 0.5 end,
      r.updated_at
    from dag_run r cross join (${sql.raw(taskList)}) t`.execute(database.db);
}

async function insertTheRest(database: Database, events: number, size: FillSize): Promise<void> {
  const { db } = database;
  await sql`insert into xcom (dag_run_id, task_id, map_index, ${sql.ref("key")}, dag_id, run_id, value, ${sql.ref("timestamp")})
    select r.id, 't0', -1, 'return_value', r.dag_id, r.run_id, '{"rows": 42}', r.updated_at
    from dag_run r where r.state in ('success', 'failed')`.execute(db);
  await sql`insert into task_instance_history (dag_id, run_id, task_id, map_index, try_number, state,
      start_date, end_date, duration, hostname, pid, operator, pool, queue, priority_weight, rendered_fields)
    select r.dag_id, r.run_id, ${`t${size.tasks - 1}`}, -1, 1, 'failed', r.start_date, r.end_date, 12.5,
      'worker-1', 4242, 'BashOperator', 'default_pool', 'default', 1, null
    from dag_run r where r.state = 'failed'`.execute(db);
  for (let i = 0; i < events; i += 1000) {
    const rows = Array.from({ length: Math.min(1000, events - i) }, (_, k) => ({
      dttm: iso(START + (i + k) * 60_000),
      event: (i + k) % 3 ? "trigger_dag_run" : "patch_dag",
      owner: "admin",
      dag_id: `dag_${String((i + k) % size.dags).padStart(3, "0")}`,
      extra: "{}",
    }));
    await db.insertInto("audit_log").values(rows).execute();
  }
  await db
    .insertInto("import_error")
    .values(
      Array.from({ length: 5 }, (_, i) => ({
        fileloc: `/dags/broken_${i}.ts`,
        message: "SyntaxError: Unexpected token",
        stacktrace: null,
        timestamp: iso(START),
      })),
    )
    .execute();
  await db
    .insertInto("slot_pool")
    .values(
      Array.from({ length: 10 }, (_, i) => ({
        pool: `pool_${i}`,
        slots: 8,
        description: null,
        include_deferred: 0,
      })),
    )
    .execute();
  await db
    .insertInto("variable")
    .values(
      Array.from({ length: 100 }, (_, i) => ({
        key: `var_${i}`,
        val: `value ${i}`,
        description: null,
        is_encrypted: 0,
      })),
    )
    .execute();
  await db
    .insertInto("connection")
    .values(
      Array.from({ length: 20 }, (_, i) => ({
        conn_id: `conn_${i}`,
        conn_type: "postgres",
        description: null,
        host: "db.example",
        schema: null,
        login: "user",
        password: null,
        port: 5432,
        extra: null,
        is_encrypted: 0,
        is_extra_encrypted: 0,
      })),
    )
    .execute();
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      url: { type: "string" },
      home: { type: "string", default: "/tmp/updraft-api-scale-home" },
      dags: { type: "string", default: "100" },
      runs: { type: "string", default: "1000" },
      tasks: { type: "string", default: "10" },
    },
  });
  if (!values.url) throw new Error("--url <database url> is required");
  await fillDatabase({
    url: values.url,
    home: values.home,
    size: { dags: Number(values.dags), runs: Number(values.runs), tasks: Number(values.tasks) },
    progress: (text) => process.stderr.write(`  ${text}\n`),
  });
}
