/**
 * The connection type registry and the providers: the built-in types' fields and tests (a real
 * PostgreSQL, an HTTP server and an SMTP-speaking server on loopback, an unreachable port), the
 * API's /ui/connections/hook_meta and /api/v2/providers, secret extras masked by type, and
 * `updraft providers` reading a provider package placed in a DAGs project's node_modules.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { connectionType, hookMeta, isSecretExtra, testConnectionOf } from "../connections/types.ts";
import { forEachApiDatabase } from "../test-support/api.ts";
import { listProviders } from "./providers.ts";

const MAIN = fileURLToPath(new URL("../cli/main.ts", import.meta.url));

/** A DAGs folder with a provider package (and a package that declares none) in its node_modules. */
function dagsProject(): string {
  const dags = mkdtempSync(join(tmpdir(), "updraft-providers-"));
  const pkg = join(dags, "node_modules", "@acme", "updraft-provider-acme");
  mkdirSync(join(pkg, "dist"), { recursive: true });
  writeFileSync(
    join(pkg, "package.json"),
    JSON.stringify({
      name: "@acme/updraft-provider-acme",
      version: "1.2.3",
      description: "Acme's warehouse",
      updraft: { provider: "./dist/provider.js" },
    }),
  );
  writeFileSync(
    join(pkg, "dist", "provider.js"),
    `export default {
  name: "Acme",
  description: "Acme warehouse operators",
  operators: ["acmeLoad"],
  hooks: ["acmeHook"],
  connectionTypes: [{
    connType: "acme",
    label: "Acme Warehouse",
    hook: "acmeHook",
    fields: { schema: { hidden: true }, login: { label: "Account" } },
    extraFields: [{ name: "region", label: "Region", type: "string" }, { name: "ticket", label: "Ticket", type: "string", secret: true }],
    defaultPort: 7000,
    test: async () => ({ status: true, message: "never run here" }),
  }],
};
// The API never loads this in its own process: a global set here must not be seen there.
globalThis.__acmeLoaded = true;
`,
  );
  const plain = join(dags, "node_modules", "left-pad");
  mkdirSync(plain, { recursive: true });
  writeFileSync(join(plain, "package.json"), JSON.stringify({ name: "left-pad", version: "1.0.0" }));
  return dags;
}

describe("connection types", () => {
  test("each built-in type declares its fields, secrets and test", () => {
    const pg = connectionType("postgresql")!;
    assert.equal(pg.connType, "postgres");
    assert.equal(pg.defaultPort, 5432);
    const sqlite = hookMeta(connectionType("sqlite")!);
    assert.equal(sqlite.standard_fields.login.hidden, true);
    assert.equal(sqlite.standard_fields.host.title, "Database file");
    assert.equal(sqlite.testable, true);
    assert.equal(hookMeta(connectionType("generic")!).testable, false);
    for (const t of ["generic", "http", "postgres", "mysql", "sqlite", "smtp", "slackwebhook", "fs"])
      assert.ok(connectionType(t), `${t} is registered`);
    assert.ok(isSecretExtra("http", "Authorization"));
    assert.ok(isSecretExtra("postgres", "api_token"), "Airflow's sensitive names stay secret");
    assert.ok(!isSecretExtra("postgres", "sslmode"));
  });

  test("tests: PostgreSQL answers, an unreachable port does not, SMTP says EHLO, HTTP answers", async () => {
    const pg = {
      connId: "p",
      connType: "postgres",
      host: "127.0.0.1",
      port: 5432,
      login: "postgres",
      password: null,
      schema: "test",
      extra: {},
    };
    assert.deepEqual(await testConnectionOf(pg), { status: true, message: "Connection successfully tested" });
    const down = await testConnectionOf({ ...pg, port: 1, password: "hunter2-secret" });
    assert.equal(down.status, false);
    assert.doesNotMatch(down.message, /hunter2-secret/);
    const maria = { ...pg, connType: "mysql", port: 3306, login: "root" };
    assert.equal((await testConnectionOf(maria)).status, true);

    const smtp = createServer((socket) => {
      socket.write("220 test ESMTP\r\n");
      socket.on("data", (d) => {
        if (d.toString().startsWith("EHLO")) socket.write("250-test\r\n250 SIZE 1000\r\n");
        else socket.end("221 bye\r\n");
      });
    });
    await new Promise<void>((r) => smtp.listen(0, "127.0.0.1", r));
    const smtpPort = (smtp.address() as AddressInfo).port;
    const mail = await testConnectionOf({
      ...pg,
      connType: "smtp",
      port: smtpPort,
      extra: { disable_ssl: true },
    });
    smtp.close();
    assert.deepEqual(mail, { status: true, message: "Connection successfully tested" });

    const web = createHttpServer((req, res) => {
      res.statusCode = req.headers.authorization ? 200 : 401;
      res.end();
    });
    await new Promise<void>((r) => web.listen(0, "127.0.0.1", r));
    const webPort = (web.address() as AddressInfo).port;
    try {
      const http = { ...pg, connType: "http", port: webPort, schema: null, login: null };
      assert.equal((await testConnectionOf(http)).status, false, "a 401 fails the test");
      assert.equal((await testConnectionOf({ ...http, login: "u", password: "p" })).status, true);
    } finally {
      web.close();
    }
  });
});

describe("providers", () => {
  let dags: string;
  before(() => (dags = dagsProject()));

  test("a package declaring a provider is found, loaded in a child process, and its types join the registry", async () => {
    const providers = await listProviders(dags);
    assert.deepEqual(
      providers.map((p) => p.package_name),
      ["updraft-orchestrator", "@acme/updraft-provider-acme"],
    );
    const acme = providers[1]!;
    assert.equal(acme.version, "1.2.3");
    assert.equal(acme.description, "Acme warehouse operators");
    assert.deepEqual(acme.operators, ["acmeLoad"]);
    assert.deepEqual(acme.connection_types, ["acme"]);
    assert.equal(
      (globalThis as Record<string, unknown>).__acmeLoaded,
      undefined,
      "not loaded in this process",
    );
    const type = connectionType("acme")!;
    assert.equal(type.provider, "@acme/updraft-provider-acme");
    assert.equal(type.test, undefined, "a package's test never runs in the API process");
    assert.ok(isSecretExtra("acme", "ticket"));
    assert.equal(hookMeta(type).standard_fields.login.title, "Account");
  });

  test("updraft providers lists them; -o json parses", () => {
    const home = mkdtempSync(join(tmpdir(), "updraft-providers-home-"));
    const run = (args: string[]) =>
      spawnSync(process.execPath, [MAIN, ...args], {
        env: { ...process.env, UPDRAFT_HOME: home, UPDRAFT__CORE__DAGS_FOLDER: dags },
        encoding: "utf8",
        timeout: 60_000,
      });
    const plain = run(["providers"]);
    assert.equal(plain.status, 0, plain.stderr);
    assert.match(plain.stdout, /@acme\/updraft-provider-acme/);
    const list = JSON.parse(run(["providers", "list", "-o", "json"]).stdout);
    assert.deepEqual(list[1], {
      package_name: "@acme/updraft-provider-acme",
      description: "Acme warehouse operators",
      version: "1.2.3",
    });
    const hooks = JSON.parse(run(["providers", "hooks", "-o", "json"]).stdout);
    assert.ok(hooks.some((h: { name: string }) => h.name === "sqlHook"));
    assert.ok(hooks.some((h: { name: string; package_name: string }) => h.name === "acmeHook"));
    const types = JSON.parse(run(["providers", "connections", "-o", "json"]).stdout);
    const acme = types.find((t: { connection_type: string }) => t.connection_type === "acme");
    assert.equal(acme.extra_fields, "region, ticket (secret)");
    const operators = JSON.parse(run(["providers", "operators", "-o", "json"]).stdout);
    assert.ok(operators.some((o: { name: string }) => o.name === "http"));
    const missing = run(["providers", "get", "nope"]);
    assert.notEqual(missing.status, 0);
    assert.match(missing.stderr, /no provider "nope" is installed/);
  });
});

test("updraft connections test: off by default, then SELECT 1 on a real PostgreSQL; a refused one exits 1", () => {
  const home = mkdtempSync(join(tmpdir(), "updraft-conn-test-"));
  const run = (args: string[], env: Record<string, string> = {}) =>
    spawnSync(process.execPath, [MAIN, ...args], {
      env: {
        ...process.env,
        UPDRAFT_HOME: home,
        UPDRAFT_CONN_PG_OK: "postgres://postgres@127.0.0.1:5432/test",
        UPDRAFT_CONN_PG_DOWN: "postgres://postgres:pw-never-shown@127.0.0.1:1/test",
        ...env,
      },
      encoding: "utf8",
      timeout: 60_000,
    });
  assert.equal(run(["db", "migrate"]).status, 0);
  const off = run(["connections", "test", "pg_ok"]);
  assert.notEqual(off.status, 0);
  assert.match(off.stderr, /Testing connections is disabled.*test_connection = "Enabled"/);
  const enabled = { UPDRAFT__CORE__TEST_CONNECTION: "Enabled" };
  const ok = run(["connections", "test", "pg_ok", "-o", "json"], enabled);
  assert.equal(ok.status, 0, ok.stderr);
  assert.deepEqual(JSON.parse(ok.stdout), [
    { conn_id: "pg_ok", status: true, message: "Connection successfully tested" },
  ]);
  const down = run(["connections", "test", "pg_down", "-o", "json"], enabled);
  assert.equal(down.status, 1);
  assert.equal(JSON.parse(down.stdout)[0].status, false);
  assert.doesNotMatch(down.stdout + down.stderr, /pw-never-shown/);
});

const TICKET = "ticket-value-never-shown";
const OPS_DAG = `import { dag, http, sql, task } from "updraft";
export default dag({ dagId: "ops_names" }, () => {
  http("h", { connId: "api", endpoint: "/x" });
  sql("s", { connId: "db", sql: "SELECT 1" });
  task.bash("b", () => "echo hi")();
});
`;

forEachApiDatabase("providers API", { dags: { "ops.ts": OPS_DAG } }, (get) => {
  let dags: string;
  before(() => {
    dags = dagsProject();
    // The harness's DAGs folder is its home's: the provider package goes there.
    const folder = get().config.values.core.dags_folder;
    cpSync(join(dags, "node_modules"), join(folder, "node_modules"), { recursive: true });
  });

  test("the new operators' names and template fields in the task API", async () => {
    const r = await get().call("get_tasks", { path: { dag_id: "ops_names" } });
    const byId = Object.fromEntries(
      r.body.tasks.map((t: { task_id: string; operator_name: string; template_fields: string[] }) => [
        t.task_id,
        [t.operator_name, t.template_fields],
      ]),
    );
    assert.deepEqual(byId, {
      b: ["BashOperator", ["env", "cwd"]],
      h: ["HttpOperator", ["endpoint", "method", "data", "headers"]],
      s: ["SQLExecuteQueryOperator", ["sql", "parameters"]],
    });
  });

  test("/api/v2/providers lists the built-in provider and the package's", async () => {
    const r = await get().call("get_providers", {});
    assert.equal(r.status, 200);
    assert.equal(r.body.total_entries, 2);
    assert.equal(r.body.providers[0].package_name, "updraft-orchestrator");
    assert.equal(r.body.providers[1].version, "1.2.3");
  });

  test("/ui/connections/hook_meta follows the registry; a type's secret extras are masked", async () => {
    const { app, tokens } = get();
    const r = await app.inject({
      method: "GET",
      url: "/ui/connections/hook_meta",
      headers: { authorization: `Bearer ${tokens.Viewer}` },
    });
    assert.equal(r.statusCode, 200);
    const meta = r.json() as ReturnType<typeof hookMeta>[];
    const acme = meta.find((m) => m.connection_type === "acme")!;
    assert.equal(acme.standard_fields.url_schema.hidden, true);
    assert.equal(acme.extra_fields.ticket!.schema.format, "password");
    assert.equal(
      meta.find((m) => m.connection_type === "postgres")!.standard_fields.port.placeholder,
      "5432",
    );
    assert.equal((await app.inject({ method: "GET", url: "/ui/connections/hook_meta" })).statusCode, 401);

    const created = await get().call("post_connection", {
      body: {
        connection_id: "acme_1",
        conn_type: "acme",
        host: "h",
        extra: JSON.stringify({ region: "eu", ticket: TICKET }),
      },
    });
    assert.equal(created.status, 201);
    assert.equal(created.body.extra, '{"region":"eu","ticket":"***"}');
    const listed = await get().call("get_connections", {});
    assert.ok(!JSON.stringify(listed.body).includes(TICKET));
  });
});
