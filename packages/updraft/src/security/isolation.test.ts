/**
 * What the webserver hands out (issue 13, items 2, 8, 20): the connection test is off unless enabled
 * and never sends a stored secret to a host the caller names; the log endpoint follows no link out of
 * the logs folder; a new home, its config, database and logs are the service user's alone.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { taskLogPath } from "../logs/files.ts";
import { triggerDagRun } from "../operations/trigger-run.ts";
import { nowIso } from "../storage/database.ts";
import { taskInstanceStore } from "../storage/task-instances.ts";
import { forEachApiDatabase } from "../test-support/api.ts";

const STORED_PASSWORD = "stored-secret-password-71";
const DAG = `import { dag, bash } from "updraft";
export default dag({ dagId: "logged" }, () => { bash("t", { command: "echo hi" }); });`;

/** A TCP listener that records every byte a client sends it. */
async function listener(): Promise<{ server: Server; port: number; received: () => string }> {
  let received = "";
  const server = createServer((socket) => {
    socket.on("data", (d) => (received += d.toString("latin1")));
    socket.on("error", () => {});
    // Talk like nothing: the client gives up on its own (or on its timeout).
    setTimeout(() => socket.destroy(), 300);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as { port: number }).port, received: () => received };
}

forEachApiDatabase(
  "the connection test keeps stored secrets home",
  { allDatabases: true, env: { UPDRAFT__CORE__TEST_CONNECTION: "Enabled" } },
  (get) => {
    let trap: Awaited<ReturnType<typeof listener>>;
    before(async () => {
      trap = await listener();
      const stored = await get().call("post_connection", {
        body: {
          connection_id: "warehouse",
          conn_type: "postgres",
          host: "127.0.0.1",
          port: 5432,
          login: "etl",
          password: STORED_PASSWORD,
          extra: JSON.stringify({ api_token: "stored-extra-token-5" }),
        },
      });
      assert.equal(stored.status, 201, JSON.stringify(stored.body));
    });
    after(() => trap.server.close());

    test('"***" is refused for another host, port, login or type, and nothing reaches the listener', async () => {
      const base = {
        connection_id: "warehouse",
        conn_type: "postgres",
        host: "127.0.0.1",
        port: 5432,
        login: "etl",
      };
      for (const moved of [
        { port: trap.port },
        { host: "localhost", port: trap.port },
        { login: "someone", port: trap.port },
        { conn_type: "mysql", port: trap.port },
      ]) {
        const r = await get().call("test_connection", {
          body: { ...base, ...moved, password: "***" },
          as: "Op",
        });
        assert.equal(r.status, 403, JSON.stringify(r.body));
        assert.match(r.body.detail, /only reused for its own type, host, port and login/);
      }
      const extra = await get().call("test_connection", {
        body: { ...base, port: trap.port, extra: JSON.stringify({ api_token: "***" }) },
        as: "Op",
      });
      assert.equal(extra.status, 403);
      await new Promise((r) => setTimeout(r, 200));
      assert.ok(!trap.received().includes(STORED_PASSWORD), "the stored password reached the listener");
      assert.ok(!trap.received().includes("stored-extra-token-5"));
    });

    test("a secret sent in clear may go anywhere (it is the caller's own)", async () => {
      const r = await get().call("test_connection", {
        body: {
          connection_id: "other",
          conn_type: "postgres",
          host: "127.0.0.1",
          port: trap.port,
          password: "mine-123",
        },
        as: "Op",
      });
      assert.equal(r.status, 200);
      assert.equal(r.body.status, false);
    });
  },
);

forEachApiDatabase("the connection test is off by default", {}, (get) => {
  test("403 naming [core] test_connection", async () => {
    const r = await get().call("test_connection", {
      body: { connection_id: "x", conn_type: "postgres", host: "127.0.0.1", port: 5432 },
    });
    assert.equal(r.status, 403);
    assert.match(r.body.detail, /\[core\] test_connection/);
  });

  test("the UI learns the setting from /ui/config (signed-in users only) and disables its button", async () => {
    const stranger = await get().app.inject({ url: "/ui/config" });
    assert.equal(stranger.statusCode, 401);
    const viewer = await get().app.inject({
      url: "/ui/config",
      headers: { authorization: `Bearer ${get().tokens.Viewer}` },
    });
    assert.equal(viewer.statusCode, 200);
    assert.deepEqual(viewer.json(), { test_connection: "Disabled" });
  });
});

forEachApiDatabase(
  "the log endpoint follows no link",
  { allDatabases: true, dags: { "logged.ts": DAG } },
  (get) => {
    const logOf = (runId: string) =>
      get().app.inject({
        url: `/api/v2/dags/logged/dagRuns/${runId}/taskInstances/t/logs/1`,
        headers: { authorization: `Bearer ${get().tokens.Viewer}`, accept: "text/plain" },
      });
    const tryOf = async (runId: string) => {
      await triggerDagRun(get().database, {
        dagId: "logged",
        runId,
        logicalDate: new Date(`2024-0${(runId.length % 9) + 1}-01T00:00:00Z`),
      });
      const tis = taskInstanceStore(get().database);
      const key = { dagId: "logged", runId, taskId: "t" };
      assert.ok(await tis.transition(key, "none", "scheduled"));
      assert.ok(await tis.transition(key, "scheduled", "queued", { queued_dttm: nowIso() }));
      assert.ok(await tis.startTry(key, null, { start_date: nowIso(), hostname: "w", pid: 1 }));
      return taskLogPath(get().config.values.logging.base_log_folder, {
        dag_id: "logged",
        run_id: runId,
        task_id: "t",
        map_index: -1,
        try_number: 1,
      });
    };

    test("a link at a try's log path (to updraft.toml) is refused, a real log is served", async () => {
      const path = await tryOf("linked");
      mkdirSync(dirname(path), { recursive: true });
      symlinkSync(join(get().home, "updraft.toml"), path);
      const r = await logOf("linked");
      assert.equal(r.statusCode, 403, r.body);
      assert.ok(!r.body.includes("encryption_key"));
      assert.match(r.json().detail, /symbolic link/);

      const real = await tryOf("real");
      mkdirSync(dirname(real), { recursive: true });
      writeFileSync(real, "hello from the task\n");
      const ok = await logOf("real");
      assert.equal(ok.statusCode, 200);
      assert.match(ok.body, /hello from the task/);
    });

    test("a linked folder in the chain is refused too", async () => {
      const path = await tryOf("dirlink");
      const outside = mkdtempSync(join(tmpdir(), "updraft-outside-"));
      writeFileSync(join(outside, "attempt=1.log"), "a file outside the logs folder\n");
      mkdirSync(dirname(dirname(path)), { recursive: true });
      symlinkSync(outside, dirname(path));
      const r = await logOf("dirlink");
      assert.equal(r.statusCode, 403);
      assert.ok(!r.body.includes("outside the logs folder\n"));
      rmSync(outside, { recursive: true, force: true });
    });
  },
);

test("a new home is 0700; updraft.toml, updraft.db and task logs are 0600", () => {
  const home = join(mkdtempSync(join(tmpdir(), "updraft-modes-")), "home");
  const main = fileURLToPath(new URL("../cli/main.ts", import.meta.url));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    UPDRAFT_HOME: home,
    UPDRAFT__CORE__LOAD_EXAMPLES: "false",
  };
  delete env.UPDRAFT__DATABASE__URL;
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, [main, ...args], { env, encoding: "utf8", timeout: 90_000 });
  assert.equal(cli("db", "migrate").status, 0);
  mkdirSync(join(home, "dags"));
  writeFileSync(
    join(home, "dags", "m.ts"),
    `import { dag, bash } from "updraft";\nexport default dag({ dagId: "modes" }, () => { bash("t", { command: "echo hi" }); });`,
  );
  const run = cli("dags", "test", "modes", "2025-01-01");
  assert.equal(run.status, 0, run.stderr);
  const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);
  assert.equal(mode(home), "700");
  assert.equal(mode(join(home, "updraft.toml")), "600");
  for (const f of readdirSync(home).filter((n) => n.startsWith("updraft.db")))
    assert.equal(mode(join(home, f)), "600", f);
  assert.equal(mode(join(home, "logs")), "700");
  const logs = readdirSync(join(home, "logs"), { recursive: true }).map(String);
  const files = logs.filter((f) => /\.log(\.gz)?$/.test(f));
  assert.ok(files.length > 0);
  for (const f of files) assert.equal(mode(join(home, "logs", f)), "600", f);
  for (const d of logs.filter((f) => statSync(join(home, "logs", f)).isDirectory()))
    assert.equal(mode(join(home, "logs", d)), "700", d);
  rmSync(dirname(home), { recursive: true, force: true });
});
