/**
 * http(), sql() and task.bash run for real: DAG runs driven through the real runner, their work in
 * TaskFlow worker processes, against an HTTP server on loopback started here, a SQLite file, and the
 * PostgreSQL and MariaDB on 127.0.0.1. Connections are stored in the database, as users create them.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { triggerDagRun } from "../operations/trigger-run.ts";
import { connectionStore } from "../storage/connections.ts";
import { taskInstanceStore } from "../storage/task-instances.ts";
import { dagsHome, type DagsHome } from "../test-support/dags-home.ts";
import type { DagRunRow } from "../storage/schema.ts";

const dir = mkdtempSync(join(tmpdir(), "updraft-operators-"));
const suffix = `${process.pid}`;
const seen: { url: string; authorization?: string; team?: string; body: string }[] = [];
let flaky = 0;

function serve(): Promise<Server> {
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://x");
      seen.push({
        url: req.url ?? "",
        authorization: req.headers.authorization,
        team: req.headers["x-team"] as string | undefined,
        body,
      });
      if (url.pathname === "/json") {
        res.setHeader("content-type", "application/json");
        return res.end(JSON.stringify({ items: [1, 2, 3], day: url.searchParams.get("day") }));
      }
      if (url.pathname === "/text") {
        res.setHeader("content-type", "text/plain");
        return res.end("plain words");
      }
      if (url.pathname === "/echo") {
        res.setHeader("content-type", "application/json");
        return res.end(JSON.stringify({ method: req.method, body: JSON.parse(body || "null") }));
      }
      if (url.pathname === "/page") {
        const n = Number(url.searchParams.get("n") ?? "1");
        res.setHeader("content-type", "application/json");
        return res.end(JSON.stringify({ n, next: n < 3 ? n + 1 : null }));
      }
      if (url.pathname === "/flaky") {
        flaky++;
        res.statusCode = flaky === 1 ? 503 : 200;
        return res.end(flaky === 1 ? "try later" : "fine");
      }
      res.statusCode = 404;
      res.end("no such page");
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

const HTTP_DAG = `import { dag, http } from "updraft";
export default dag({ dagId: "http_ops" }, () => {
  http("get_json", { connId: "api", method: "GET", endpoint: "/json", data: { day: "{{ ds }}" } });
  http("get_text", { connId: "api", method: "GET", endpoint: "text" });
  http("post_echo", { connId: "api", endpoint: "/echo", data: { day: "{{ ds }}", n: 1 } });
  http("filtered", {
    connId: "api", method: "GET", endpoint: "/json",
    responseFilter: (r) => r.json().items.length,
  });
  http("check_false", { connId: "api", method: "GET", endpoint: "/json", responseCheck: () => false });
  http("not_found", { connId: "api", method: "GET", endpoint: "/missing" });
  http("paged", {
    connId: "api", method: "GET", endpoint: "/page", data: { n: 1 },
    pagination: (r) => (r.json().next ? { data: { n: r.json().next } } : null),
  });
  http("flaky", { connId: "api", method: "GET", endpoint: "/flaky", retries: 1, retryDelay: 0 });
});
`;

function sqlDag(connId: string, table: string, placeholder: (i: number) => string): string {
  return `import { dag, sql } from "updraft";
export default dag({ dagId: "sql_${connId}", params: { least: 2 } }, () => {
  const made = sql("make", {
    connId: "${connId}",
    sql: "DROP TABLE IF EXISTS ${table}; CREATE TABLE ${table} (id INTEGER, name VARCHAR(20)); INSERT INTO ${table} VALUES (1, 'one'); INSERT INTO ${table} VALUES (2, 'two')",
    split: true,
  });
  const chosen = sql("chosen", {
    connId: "${connId}",
    sql: "SELECT id, name FROM ${table} WHERE id >= ${placeholder(1)} ORDER BY id",
    parameters: ["{{ params.least }}"],
  });
  const counted = sql("counted", {
    connId: "${connId}",
    sql: "SELECT count(*) AS n FROM ${table}",
    handler: (rows) => Number(rows[0].n) * 10,
  });
  const all = sql("all", {
    connId: "${connId}",
    sql: "SELECT name FROM ${table} WHERE id = 1; SELECT name FROM ${table} WHERE id = 2",
    split: true,
    returnLast: false,
  });
  const last = sql("last", {
    connId: "${connId}",
    sql: "SELECT name FROM ${table} WHERE id = 1; SELECT name FROM ${table} WHERE id = 2",
    split: true,
  });
  const big = sql("big", {
    connId: "${connId}",
    sql: "SELECT name, '${"x".repeat(900)}' AS pad FROM ${table}",
  });
  made.before([chosen, counted, all, last, big]);
});
`;
}

let h: DagsHome;
let server: Server;
before(async () => {
  server = await serve();
  const port = (server.address() as AddressInfo).port;
  h = await dagsHome(
    {
      "http_ops.ts": HTTP_DAG,
      "sql_lite.ts": sqlDag("lite", `ops_${suffix}`, () => "?"),
      "sql_pg.ts": sqlDag("pg", `ops_${suffix}`, (i) => `$${i}`),
      "sql_maria.ts": sqlDag("maria", `ops_${suffix}`, () => "?"),
      "hooks_ops.ts": `import { dag, httpHook, sqlHook, task } from "updraft";
export default dag({ dagId: "hooks_ops" }, () => {
  task("use_hooks", async () => {
    const r = await httpHook("api").run({ endpoint: "/json", data: { day: "hooked" } });
    const db = sqlHook("lite");
    try {
      await db.run(["CREATE TABLE IF NOT EXISTS hooked (day TEXT)", "DELETE FROM hooked"]);
      await db.query("INSERT INTO hooked VALUES (?)", [r.json().day]);
      const rows = await db.query("SELECT day FROM hooked");
      const n = await db.run("SELECT count(*) AS n FROM hooked", { handler: (rows) => rows[0].n });
      return { status: r.status, rows, n };
    } finally {
      await db.close();
    }
  })();
});
`,
      "mask_ops.ts": `import { dag, getConnection, task } from "updraft";
export default dag({ dagId: "mask_ops" }, () => {
  task("show", async () => {
    const c = await getConnection("acme_conn");
    console.log("ticket=" + c.extra.ticket + " region=" + c.extra.region);
  })();
});
`,
      "mapped_ops.ts": `import { dag, http, sql, task } from "updraft";
export default dag({ dagId: "mapped_ops" }, () => {
  const pages = http
    .partial("pages", { connId: "api", method: "GET", endpoint: "/page", responseFilter: (r) => r.json().n })
    .expand({ data: [{ n: 1 }, { n: 2 }, { n: 3 }] });
  const mixed = http
    .partial("mixed", { connId: "api" })
    .expandKwargs([{ endpoint: "/text", method: "get" }, { endpoint: "/echo", data: { x: "{{ ds }}" } }]);
  const values = sql
    .partial("values", { connId: "lite", handler: (rows) => Number(rows[0].v) })
    .expand({ sql: ["SELECT 1 AS v", "SELECT 2 AS v"] });
  const params = sql
    .partial("params", { connId: "lite", sql: "SELECT ? AS v", handler: (rows) => Number(rows[0].v) })
    .expand({ parameters: [[5], [6]] });
  task("total", (p: number[], m: unknown[], v: number[], q: number[]) => ({ p, m, v, q }))(pages, mixed, values, params);
});
`,
      "bash_ops.ts": `import { bash, dag, task } from "updraft";
export default dag({ dagId: "bash_ops" }, () => {
  const lines = bash("lines", { command: "echo first; echo '{{ ds }} last'" });
  const quiet = bash("quiet", { command: "echo not pushed", doXcomPush: false });
  const pull = bash("pull", { command: "echo \\"pulled: {{ ti.xcom_pull(task_ids='lines') }}\\"" });
  lines.before(quiet).before(pull);
  const who = task("who", () => "world");
  const say = task.bash("say", (name: string) => \`echo "hello $GREETING_TO \${name} {{ ds }}"\`, { env: { GREETING_TO: "dear" } });
  say(who());
  task.bash("empty_command", () => "")();
  task.bash("exits_99", () => "exit 99")();
});
`,
    },
    { UPDRAFT__CORE__XCOM_MAX_SIZE: "1500" },
  );
  // A provider package in the DAGs project declares the type "acme" with a secret extra "ticket".
  const pkg = join(h.config.values.core.dags_folder, "node_modules", "acme-provider");
  mkdirSync(pkg, { recursive: true });
  writeFileSync(
    join(pkg, "package.json"),
    JSON.stringify({ name: "acme-provider", version: "1.0.0", updraft: { provider: "./provider.mjs" } }),
  );
  writeFileSync(
    join(pkg, "provider.mjs"),
    `export default { connectionTypes: [{ connType: "acme", label: "Acme", extraFields: [{ name: "ticket", label: "Ticket", type: "string", secret: true }] }] };`,
  );
  const store = connectionStore(h.database, h.cipher);
  const base = { description: null, schema: null, port: null, login: null, password: null, extra: null };
  await store.set({
    ...base,
    connId: "api",
    connType: "http",
    host: "127.0.0.1",
    port,
    login: "ada",
    password: "s3cret",
    extra: JSON.stringify({ "X-Team": "data" }),
  });
  await store.set({ ...base, connId: "lite", connType: "sqlite", host: join(dir, "ops.db") });
  await store.set({
    ...base,
    connId: "acme_conn",
    connType: "acme",
    host: "acme.example",
    extra: JSON.stringify({ ticket: "tkt-secret-123", region: "eu" }),
  });
  await store.set({
    ...base,
    connId: "pg",
    connType: "postgres",
    host: "127.0.0.1",
    port: 5432,
    login: "postgres",
    schema: "test",
  });
  await store.set({
    ...base,
    connId: "maria",
    connType: "mysql",
    host: "127.0.0.1",
    port: 3306,
    login: "root",
    schema: "test",
  });
});
after(async () => {
  await h.close();
  server.close();
});

async function xcom(run: DagRunRow, taskId: string): Promise<unknown> {
  const row = await h.database.db
    .selectFrom("xcom")
    .select("value")
    .where("dag_run_id", "=", run.id)
    .where("task_id", "=", taskId)
    .where("key", "=", "return_value")
    .executeTakeFirst();
  return row?.value == null ? undefined : JSON.parse(row.value);
}

test("http(): connection auth and headers, JSON or text, filter, check, pagination, retries", async () => {
  const run = await triggerDagRun(h.database, {
    dagId: "http_ops",
    logicalDate: new Date("2026-01-02T00:00:00Z"),
  });
  assert.equal(await h.drive(run), "failed");
  const states = await h.states(run);
  assert.deepEqual(states, {
    get_json: "success",
    get_text: "success",
    post_echo: "success",
    filtered: "success",
    check_false: "failed",
    not_found: "failed",
    paged: "success",
    flaky: "success",
  });
  assert.deepEqual(await xcom(run, "get_json"), { items: [1, 2, 3], day: "2026-01-02" });
  assert.equal(await xcom(run, "get_text"), "plain words");
  assert.deepEqual(await xcom(run, "post_echo"), { method: "POST", body: { day: "2026-01-02", n: 1 } });
  assert.equal(await xcom(run, "filtered"), 3);
  assert.deepEqual(
    ((await xcom(run, "paged")) as { n: number }[]).map((p) => p.n),
    [1, 2, 3],
  );
  assert.equal(await xcom(run, "flaky"), "fine");
  const first = seen.find((s) => s.url.startsWith("/json"))!;
  assert.equal(first.authorization, `Basic ${Buffer.from("ada:s3cret").toString("base64")}`);
  assert.equal(first.team, "data", "the connection's extra is sent as headers");
  assert.match(h.log(run, "check_false"), /Response check returned False/);
  assert.match(h.log(run, "not_found"), /answered 404/);
  const tis = await taskInstanceStore(h.database).listByRun(run.id);
  assert.equal(tis.find((t) => t.task_id === "flaky")!.try_number, 2, "a 503 failed try 1, try 2 succeeded");
  assert.doesNotMatch(h.log(run, "get_json"), /s3cret/);
});

for (const connId of ["lite", "pg", "maria"]) {
  test(`sql() on ${connId}: split, parameters, handler, returnLast, the XCom size limit`, async () => {
    const run = await triggerDagRun(h.database, { dagId: `sql_${connId}` });
    assert.equal(await h.drive(run), "failed");
    const states = await h.states(run);
    const logs = () => ["make", "all"].map((t) => h.log(run, t)).join("\n");
    assert.deepEqual(
      states,
      {
        make: "success",
        chosen: "success",
        counted: "success",
        all: "success",
        last: "success",
        big: "failed",
      },
      logs(),
    );
    assert.deepEqual(await xcom(run, "chosen"), [{ id: 2, name: "two" }]);
    assert.equal(await xcom(run, "counted"), 20);
    assert.deepEqual(await xcom(run, "all"), [[{ name: "one" }], [{ name: "two" }]]);
    assert.deepEqual(await xcom(run, "last"), [{ name: "two" }]);
    assert.match(
      h.log(run, "big"),
      /task "big": the XCom value is \d+ bytes, over the 1500-byte limit \(core.xcom_max_size\)/,
    );
  });
}

test("http.partial() and sql.partial() map over their fields; the mapped XComs come as lists", async () => {
  const run = await triggerDagRun(h.database, {
    dagId: "mapped_ops",
    logicalDate: new Date("2026-01-02T00:00:00Z"),
  });
  assert.equal(await h.drive(run), "success", h.log(run, "total"));
  assert.deepEqual(await xcom(run, "total"), {
    p: [1, 2, 3],
    m: ["plain words", { method: "POST", body: { x: "2026-01-02" } }],
    v: [1, 2],
    q: [5, 6],
  });
});

test("httpHook and sqlHook inside a TypeScript task do what the operators do", async () => {
  const run = await triggerDagRun(h.database, { dagId: "hooks_ops" });
  assert.equal(await h.drive(run), "success", h.log(run, "use_hooks"));
  assert.deepEqual(await xcom(run, "use_hooks"), { status: 200, rows: [{ day: "hooked" }], n: 1 });
});

test("a provider type's secret extra is masked in the task log", async () => {
  const run = await triggerDagRun(h.database, { dagId: "mask_ops" });
  assert.equal(await h.drive(run), "success");
  const log = h.log(run, "show");
  assert.match(log, /ticket=\*\*\* region=eu/);
  assert.doesNotMatch(log, /tkt-secret-123/);
});

test("bash() and task.bash: the command runs as bash, rendered, with env and the arguments; the last line is the XCom", async () => {
  const run = await triggerDagRun(h.database, {
    dagId: "bash_ops",
    logicalDate: new Date("2026-03-04T00:00:00Z"),
  });
  assert.equal(await h.drive(run), "failed");
  assert.deepEqual(await h.states(run), {
    lines: "success",
    quiet: "success",
    pull: "success",
    who: "success",
    say: "success",
    empty_command: "failed",
    exits_99: "skipped",
  });
  assert.match(h.log(run, "say"), /hello dear world 2026-03-04/);
  // Airflow's BashOperator: the last line of output is the XCom, unless do_xcom_push is off.
  assert.equal(await xcom(run, "lines"), "2026-03-04 last");
  assert.equal(await xcom(run, "quiet"), undefined);
  assert.match(h.log(run, "pull"), /pulled: 2026-03-04 last/, h.log(run, "pull"));
  assert.equal(await xcom(run, "say"), "hello dear world 2026-03-04");
  assert.match(h.log(run, "empty_command"), /must return the command, a non-empty string/);
});
