/**
 * The ready-made sensors run for real, driven as `dags test` drives a run (real TaskFlow workers):
 * a file that appears after a few pokes, an HTTP server on loopback answering 503 then 200, rows that
 * appear in SQLite, PostgreSQL and MariaDB tables, near times, and another DAG's run in the same
 * database. Poke mode and reschedule mode both, on ready-made sensors.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { after, before, describe, test } from "node:test";
import { createConnection } from "mysql2/promise";
import pg from "pg";
import { triggerDagRun } from "../operations/trigger-run.ts";
import { MYSQL_URL, POSTGRES_URL } from "../test-support/databases.ts";
import { dagsHome, type DagsHome } from "../test-support/dags-home.ts";
import { until } from "../test-support/service-process.ts";
import type { DagRunRow } from "../storage/schema.ts";

const scratch = mkdtempSync(join(tmpdir(), "updraft-sensors-"));
const inbox = join(scratch, "inbox");
mkdirSync(inbox);
const sqliteFile = join(scratch, "source.db");
const table = `sensor_rows_${process.pid}`;

let hits = 0;
const server: Server = createServer((request, response) => {
  hits++;
  if (request.url?.startsWith("/ready") && hits < 3) {
    response.writeHead(503).end("warming up");
    return;
  }
  response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ ready: true, hits }));
});

const FAST = `pokeInterval: "250ms", timeout: "20s"`;

const dags = (port: number): Record<string, string> => ({
  "files.ts": `import { dag, fileSensor } from "updraft";
export default dag({ dagId: "files", schedule: null }, () => {
  fileSensor("poked", { filepath: ${JSON.stringify(join(inbox, "{{ dag_run.conf.name }}"))}, ${FAST} });
  fileSensor("rescheduled", { filepath: ${JSON.stringify(join(inbox, "**", "*.csv"))}, recursive: true, mode: "reschedule", ${FAST} });
});`,
  "http.ts": `import { dag, httpSensor } from "updraft";
export default dag({ dagId: "http", schedule: null }, () => {
  httpSensor("until_200", { httpConnId: "local_api", endpoint: "/ready/{{ ds }}", ${FAST} });
  httpSensor("checked", {
    endpoint: "http://127.0.0.1:${port}/status",
    responseCheck: (r) => ({ done: r.json().ready === true, value: r.status }),
    mode: "reschedule", ${FAST},
  });
});`,
  "sql.ts": `import { dag, sqlSensor } from "updraft";
export default dag({ dagId: "sql", schedule: null }, () => {
  for (const conn of ["src_sqlite", "src_postgres", "src_mysql"])
    sqlSensor("rows_" + conn, {
      connId: conn,
      sql: "SELECT count(*) FROM ${table} WHERE day = '{{ ds }}'",
      success: (n) => Number(n) >= 2,
      ${FAST},
    });
});`,
  "sql_failure.ts": `import { dag, sqlSensor } from "updraft";
export default dag({ dagId: "sql_failure", schedule: null, defaultArgs: { retries: 3 } }, () => {
  sqlSensor("broken", { connId: "src_sqlite", sql: "SELECT -1", failure: (n) => n < 0, ${FAST} });
});`,
  "times.ts": `import { dag, dateTimeSensor, timeDeltaSensor, timeSensor } from "updraft";
export default dag({ dagId: "times", schedule: null }, () => {
  timeSensor("time", { targetTime: "{{ dag_run.conf.time }}", ${FAST} });
  dateTimeSensor("datetime", { targetTime: "{{ dag_run.conf.at }}", mode: "reschedule", ${FAST} });
  timeDeltaSensor("delta", { delta: "6s", ${FAST} });
});`,
  "deferring.ts": `import { dag, dateTimeSensor, externalTaskSensor, fileSensor, httpSensor, sqlSensor, timeDeltaSensor } from "updraft";
export default dag({ dagId: "deferring", schedule: null }, () => {
  const d = { deferrable: true, pokeInterval: "2s", timeout: "1h" } as const;
  fileSensor("file", { filepath: ${JSON.stringify(join(inbox, "never-{{ ds }}"))}, ...d });
  httpSensor("http", { httpConnId: "local_api", endpoint: "/never", responseCheck: () => false, ...d });
  sqlSensor("sql", { connId: "src_sqlite", sql: "SELECT 0", ...d });
  dateTimeSensor("at", { targetTime: "2999-01-01T00:00:00Z", ...d });
  timeDeltaSensor("delta", { delta: "36500d", ...d });
  externalTaskSensor("ext", { externalDagId: "upstream", externalTaskId: "load", executionDelta: "1d", ...d });
});`,
  "upstream.ts": `import { bash, dag } from "updraft";
export default dag({ dagId: "upstream", schedule: null, defaultArgs: { retries: 0 } }, () => {
  bash("load", { command: "sleep 1; test '{{ dag_run.conf.fail }}' != yes" }).before(bash("after", { command: "true" }));
});`,
  "downstream.ts": `import { dag, externalTaskSensor } from "updraft";
export default dag({ dagId: "downstream", schedule: null }, () => {
  externalTaskSensor("wait_load", { externalDagId: "upstream", externalTaskId: "load", failedStates: ["failed"], ${FAST} });
  externalTaskSensor("wait_run", { externalDagId: "upstream", mode: "reschedule", ${FAST} });
  externalTaskSensor("wait_earlier", { externalDagId: "upstream", externalTaskId: "load", executionDelta: "1h", softFail: true, pokeInterval: "200ms", timeout: "1s" });
});`,
});

let h: DagsHome;
before(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  process.env.UPDRAFT_CONN_LOCAL_API = `http://127.0.0.1:${port}`;
  process.env.UPDRAFT_CONN_SRC_SQLITE = `sqlite:///${sqliteFile}`;
  process.env.UPDRAFT_CONN_SRC_POSTGRES = POSTGRES_URL.replace(/^postgresql:/, "postgres:");
  process.env.UPDRAFT_CONN_SRC_MYSQL = MYSQL_URL;
  h = await dagsHome(dags(port));
});
after(async () => {
  await h?.close();
  server.close();
  rmSync(scratch, { recursive: true, force: true });
});

const trigger = (dagId: string, conf: Record<string, unknown> = {}, logicalDate?: Date) =>
  triggerDagRun(h.database, { dagId, conf, logicalDate });

const later = (ms: number, fn: () => unknown) =>
  new Promise<void>((resolve, reject) =>
    setTimeout(() => {
      Promise.resolve()
        .then(fn)
        .then(() => resolve(), reject);
    }, ms),
  );

async function reschedules(run: DagRunRow, taskId: string): Promise<number> {
  const rows = await h.database.db
    .selectFrom("task_reschedule")
    .select("id")
    .where("dag_id", "=", run.dag_id)
    .where("run_id", "=", run.run_id)
    .where("task_id", "=", taskId)
    .execute();
  return rows.length;
}

async function tries(run: DagRunRow): Promise<Record<string, number>> {
  const rows = await h.database.db
    .selectFrom("task_instance")
    .select(["task_id", "try_number"])
    .where("dag_run_id", "=", run.id)
    .execute();
  return Object.fromEntries(rows.map((r) => [r.task_id, r.try_number]));
}

test("fileSensor: poke mode waits in its slot, reschedule mode frees it; both see files appear", async () => {
  const run = await trigger("files", { name: "ready.flag" });
  const [state] = await Promise.all([
    h.drive(run),
    (async () => {
      // Once each sensor has found nothing at least once.
      await until("a poke", 20_000, async () => (/not yet/.test(h.log(run, "poked")) ? true : undefined));
      await until("a reschedule", 20_000, async () =>
        (await reschedules(run, "rescheduled")) > 0 ? true : undefined,
      );
      writeFileSync(join(inbox, "ready.flag"), "");
      mkdirSync(join(inbox, "a", "b"), { recursive: true });
      writeFileSync(join(inbox, "a", "b", "part.csv"), "x");
    })(),
  ]);
  assert.equal(state, "success");
  assert.deepEqual(await h.states(run), { poked: "success", rescheduled: "success" });
  assert.match(h.log(run, "poked"), /not yet: checking again/);
  assert.match(h.log(run, "poked"), /found .*ready\.flag/);
  assert.ok((await reschedules(run, "rescheduled")) >= 1, "reschedule pokes are recorded");
  assert.equal(await reschedules(run, "poked"), 0);
  assert.deepEqual(await tries(run), { poked: 1, rescheduled: 1 }, "a reschedule is not a retry");
});

test("httpSensor: 503 is not yet, 200 is done; responseCheck decides and pushes a value", async () => {
  hits = 0;
  const run = await trigger("http");
  assert.equal(await h.drive(run), "success");
  assert.deepEqual(await h.states(run), { until_200: "success", checked: "success" });
  assert.match(h.log(run, "until_200"), /answered 503/);
  assert.match(h.log(run, "until_200"), /answered 200/);
  assert.match(h.log(run, "until_200"), /GET http:\/\/127\.0\.0\.1:\d+\/ready\/\d{4}-\d\d-\d\d/);
});

describe("sqlSensor", () => {
  const pgClient = new pg.Client({ connectionString: POSTGRES_URL });
  let my: Awaited<ReturnType<typeof createConnection>>;
  const sqlite = new DatabaseSync(sqliteFile);
  before(async () => {
    await pgClient.connect();
    my = await createConnection(MYSQL_URL);
    const ddl = `CREATE TABLE ${table} (day VARCHAR(10), n INT)`;
    sqlite.exec(ddl);
    await pgClient.query(ddl);
    await my.query(ddl);
  });
  after(async () => {
    await pgClient.query(`DROP TABLE IF EXISTS ${table}`).catch(() => {});
    await my?.query(`DROP TABLE IF EXISTS ${table}`).catch(() => {});
    await pgClient.end();
    await my?.end();
    sqlite.close();
  });

  test("waits for rows on SQLite, PostgreSQL and MariaDB", async () => {
    const run = await trigger("sql");
    const day = run.logical_date!.slice(0, 10);
    const insert = `INSERT INTO ${table} (day, n) VALUES ('${day}', 1)`;
    const ids = ["rows_src_sqlite", "rows_src_postgres", "rows_src_mysql"];
    const [state] = await Promise.all([
      h.drive(run),
      (async () => {
        // Once each has counted nothing: one row (not enough for success), then the second.
        await until("a first check of each", 30_000, async () =>
          ids.every((id) => /first cell/.test(h.log(run, id))) ? true : undefined,
        );
        for (let i = 0; i < 2; i++) {
          sqlite.exec(insert);
          await pgClient.query(insert);
          await my.query(insert);
          await new Promise((r) => setTimeout(r, 400));
        }
      })(),
    ]);
    assert.equal(state, "success", JSON.stringify(ids.map((id) => h.log(run, id))));
    assert.deepEqual(await h.states(run), {
      rows_src_sqlite: "success",
      rows_src_postgres: "success",
      rows_src_mysql: "success",
    });
    // PostgreSQL's count is a bigint, sent as text: success(n) reads it with Number().
    assert.match(h.log(run, "rows_src_postgres"), /first cell: "0"/);
    assert.match(h.log(run, "rows_src_mysql"), /first cell: 0/);
    assert.match(h.log(run, "rows_src_sqlite"), /first cell: 0/);
  });

  test("failure(value) true fails the task at once, without retries", async () => {
    const run = await trigger("sql_failure");
    assert.equal(await h.drive(run), "failed");
    assert.deepEqual(await h.states(run), { broken: "failed" });
    assert.deepEqual(await tries(run), { broken: 1 });
    assert.match(h.log(run, "broken"), /failure\(-1\) returned true/);
  });
});

test("timeSensor, dateTimeSensor and timeDeltaSensor wait for near times", async () => {
  const soon = new Date(Date.now() + 7000);
  // A manual run's data interval ends at its logical date: now.
  const run = await trigger("times", {
    time: soon.toISOString().slice(11, 19),
    at: new Date(Date.now() + 6000).toISOString(),
  });
  const started = Date.now();
  assert.equal(await h.drive(run), "success");
  assert.deepEqual(await h.states(run), { time: "success", datetime: "success", delta: "success" });
  assert.ok(Date.now() - started >= 5000, "they waited");
  assert.ok((await reschedules(run, "datetime")) >= 1);
  assert.match(h.log(run, "time"), /waiting until /);
});

test("deferrable: each hands its wait to the built-in trigger for the same thing", async () => {
  const date = new Date("2025-03-01T00:00:00Z");
  const run = await trigger("deferring", {}, date);
  await h.drive(run);
  const rows = await h.database.db
    .selectFrom("task_instance")
    .innerJoin("trigger", "trigger.id", "task_instance.trigger_id")
    .select(["task_instance.task_id", "task_instance.state", "trigger.classpath", "trigger.kwargs"])
    .where("task_instance.dag_run_id", "=", run.id)
    .execute();
  const by = Object.fromEntries(
    rows.map((r) => [r.task_id, { state: r.state, classpath: r.classpath, kwargs: JSON.parse(r.kwargs) }]),
  );
  for (const id of ["file", "http", "sql", "at", "delta", "ext"]) assert.equal(by[id]?.state, "deferred", id);
  assert.equal(by.file!.classpath, "updraft.triggers.FileTrigger");
  assert.equal(by.file!.kwargs.filepath, join(inbox, "never-2025-03-01"));
  assert.equal(by.file!.kwargs.pokeInterval, 2);
  assert.equal(by.http!.classpath, "updraft.triggers.HttpTrigger");
  assert.equal(by.http!.kwargs.httpConnId, "local_api");
  assert.equal(by.sql!.classpath, "updraft.triggers.SqlTrigger");
  assert.equal(by.sql!.kwargs.sql, "SELECT 0");
  assert.equal(by.at!.classpath, "updraft.triggers.DateTimeTrigger");
  assert.equal(by.at!.kwargs.moment, "2999-01-01T00:00:00.000Z");
  // A manual run's data interval ends at its logical date.
  assert.equal(by.delta!.kwargs.moment, new Date(date.getTime() + 36500 * 86_400_000).toISOString());
  assert.equal(by.ext!.classpath, "updraft.triggers.ExternalTaskTrigger");
  assert.deepEqual(by.ext!.kwargs, {
    externalDagId: "upstream",
    externalTaskId: "load",
    logicalDate: "2025-02-28T00:00:00.000Z",
    allowedStates: ["success"],
    failedStates: [],
    pokeInterval: 2,
  });
});

describe("externalTaskSensor", () => {
  test("waits for another DAG's task and whole run at the same logical date", async () => {
    const date = new Date(Math.floor(Date.now() / 1000) * 1000);
    const down = await trigger("downstream", {}, date);
    const [state] = await Promise.all([
      h.drive(down),
      later(800, async () => {
        const up = await trigger("upstream", { fail: "no" }, date);
        const upState = await h.drive(up);
        assert.equal(upState, "success", JSON.stringify([await h.states(up), h.log(up, "load")]));
      }),
    ]);
    assert.equal(
      state,
      "success",
      JSON.stringify([
        await h.states(down),
        h.log(down, "wait_load"),
        h.log(down, "wait_run"),
        h.log(down, "wait_earlier"),
      ]),
    );
    // Nothing ran an hour earlier: that one times out, skipped by softFail.
    assert.deepEqual(await h.states(down), {
      wait_load: "success",
      wait_run: "success",
      wait_earlier: "skipped",
    });
    assert.match(h.log(down, "wait_load"), /waiting for task load of DAG "upstream"/);
  });

  test("a task in failedStates fails the sensor now", async () => {
    const date = new Date(Math.floor(Date.now() / 1000) * 1000 + 3_600_000);
    const up = await trigger("upstream", { fail: "yes" }, date);
    assert.equal(await h.drive(up), "failed");
    const down = await trigger("downstream", {}, date);
    assert.equal(await h.drive(down), "failed");
    const states = await h.states(down);
    assert.equal(states.wait_load, "failed");
    assert.deepEqual((await tries(down)).wait_load, 1);
    assert.match(h.log(down, "wait_load"), /is failed \(one of failedStates\)/);
  });
});
