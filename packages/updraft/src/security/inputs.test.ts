/**
 * Inputs an attacker sends (issue 13, items 12-15, 17-19, 21): every one gets a clear 4xx in the API's
 * shape and leaves what is stored alone, on every database; the browser runs no injected inline
 * script; only a configured proxy may name the client; services listen on this machine by default.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../config/load.ts";
import { MAX_JSON_DEPTH } from "../api/app.ts";
import { forEachApiDatabase } from "../test-support/api.ts";
import { childUrl, forEachDatabase } from "../test-support/databases.ts";

const MAIN = fileURLToPath(new URL("../cli/main.ts", import.meta.url));

const DAGS = {
  "plain.ts": `import { dag, empty } from "updraft";
export default dag({ dagId: "plain", schedule: null }, () => { empty("only"); });`,
};
const TOKEN = "metrics-token-for-the-test";

/** `depth` arrays nested in each other, built without recursion. */
function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

/** Sends `request` as raw bytes to a listening server and returns its status line and body. */
function rawRequest(port: number, request: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let text = "";
    socket.on("data", (chunk) => (text += chunk.toString("utf8")));
    socket.on("end", () => {
      const status = Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1]);
      resolve({ status, body: text.slice(text.indexOf("\r\n\r\n") + 4) });
    });
    socket.on("error", reject);
    socket.write(request);
  });
}

forEachApiDatabase(
  "every input gets a 4xx",
  { dags: DAGS, allDatabases: true, env: { UPDRAFT__METRICS__BEARER_TOKEN: TOKEN } },
  (get) => {
    const raw = (
      url: string,
      o: { method?: "GET" | "POST"; body?: unknown; ip?: string; headers?: Record<string, string> } = {},
    ) =>
      get().app.inject({
        method: o.method ?? "GET",
        url,
        remoteAddress: o.ip ?? "127.0.0.1",
        headers: { authorization: `Bearer ${get().tokens.Admin}`, ...o.headers },
        ...(o.body !== undefined ? { payload: o.body as object } : {}),
      });

    test("a huge or infinite limit/offset is a 422, not a database error (12)", async () => {
      for (const [name, value] of [
        ["offset", "1e20"],
        ["offset", "1e309"],
        ["limit", "99999999999"],
        ["offset", "-1"],
      ] as const) {
        const r = await get().call("get_dags", { query: { [name]: value } });
        assert.equal(r.status, 422, `${name}=${value}: ${JSON.stringify(r.body)}`);
        assert.deepEqual(r.body.detail[0].loc, ["query", name]);
      }
      const fine = await get().call("get_dags", { query: { offset: 2 ** 31 - 1, limit: 100 } });
      assert.equal(fine.status, 200);
      assert.equal(fine.body.dags.length, 0);
    });

    test("a NUL character anywhere is a 422 naming where, on every database (13)", async () => {
      // Airflow's spec documents get_dag's 422 as {"detail": string}; FastAPI answers validation with a list.
      const inPath = await raw("/api/v2/dags/pla%00in");
      assert.equal(inPath.statusCode, 422);
      assert.deepEqual(inPath.json().detail[0].loc, ["path", "dag_id"]);
      const inQuery = await get().call("get_dags", { query: { dag_id_pattern: "a\u0000" } });
      assert.equal(inQuery.status, 422);
      assert.deepEqual(inQuery.body.detail[0].loc, ["query", "dag_id_pattern"]);
      const inBody = await get().call("post_variable", { body: { key: "nul_value", value: "a\u0000b" } });
      assert.equal(inBody.status, 422);
      assert.deepEqual(inBody.body.detail[0].loc, ["body", "value"]);
      const inKey = await get().call("trigger_dag_run", {
        path: { dag_id: "plain" },
        body: { logical_date: null, conf: { "k\u0000": 1 } },
      });
      assert.equal(inKey.status, 422);
      assert.equal((await get().call("get_variable", { path: { variable_key: "nul_value" } })).status, 404);
      // The same request without the NUL still works: the check refuses the character, not the call.
      const ok = await get().call("post_variable", { body: { key: "nul_value", value: "ab" } });
      assert.equal(ok.status, 201);
    });

    test("conf nested thousands deep is a 422; a reasonable depth is accepted (14)", async () => {
      for (const depth of [MAX_JSON_DEPTH + 2, 5000, 200_000]) {
        // Written by hand: JSON.stringify itself overflows the stack at this depth.
        const text = `{"logical_date":null,"conf":{"x":${"[".repeat(depth)}1${"]".repeat(depth)}}}`;
        const deep = await raw("/api/v2/dags/plain/dagRuns", {
          method: "POST",
          body: text,
          headers: { "content-type": "application/json" },
        });
        assert.ok(
          [400, 422].includes(deep.statusCode),
          `${depth}: ${deep.statusCode} ${deep.body.slice(0, 300)}`,
        );
        if (deep.statusCode === 422)
          assert.match(deep.json().detail[0].msg, new RegExp(`deeper than ${MAX_JSON_DEPTH}`));
        else assert.ok(typeof deep.json().detail === "string");
      }
      const shallow = await get().call("trigger_dag_run", {
        path: { dag_id: "plain" },
        body: { logical_date: null, conf: { x: nested(20) } },
      });
      assert.equal(shallow.status, 200, JSON.stringify(shallow.body));
      assert.deepEqual(shallow.body.conf, { x: nested(20) });
    });

    test("a long id reaches its route (404 naming it, not 414); framework errors keep the API's shape (15)", async () => {
      const id = "d".repeat(240);
      const r = await get().call("get_dag", { path: { dag_id: id } });
      assert.equal(r.status, 404);
      assert.match(r.body.detail, new RegExp(id));
      const badUrl = await raw("/api/v2/dags/%E0%A4%A");
      assert.equal(badUrl.statusCode, 400, badUrl.body);
      assert.ok(typeof badUrl.json().detail === "string", badUrl.body);

      const app = get().app;
      if (!app.server.listening) await app.listen({ port: 0, host: "127.0.0.1" });
      const port = (app.server.address() as AddressInfo).port;
      const huge = await rawRequest(
        port,
        `GET /api/v2/version HTTP/1.1\r\nhost: x\r\nx-big: ${"a".repeat(20_000)}\r\n\r\n`,
      );
      assert.equal(huge.status, 431);
      assert.match(JSON.parse(huge.body).detail, /too large/);
    });

    test("the UI's pages allow no inline script; the API docs still load (17)", async () => {
      for (const url of ["/", "/dags/plain", "/api/v2/docs/"]) {
        const r = await raw(url);
        assert.equal(r.statusCode, 200, url);
        const csp = String(r.headers["content-security-policy"]);
        const scriptSrc = /script-src ([^;]*)/.exec(csp)?.[1] ?? "";
        assert.equal(scriptSrc.trim(), "'self'", `${url}: ${csp}`);
        // Every script the page has comes from a file: one written inline would not run.
        const inline = [...r.body.matchAll(/<script(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/g)].filter(
          (m) => m[1]!.trim() !== "",
        );
        assert.deepEqual(
          inline.map((m) => m[0].slice(0, 80)),
          [],
          `${url} has inline script`,
        );
      }
    });

    test("X-Forwarded-For is believed only from a trusted proxy: the audit log keeps the real address (18)", async () => {
      const audited = async (ip: string, forwarded: string, key: string) => {
        const r = await raw("/api/v2/variables", {
          method: "POST",
          ip,
          headers: { "x-forwarded-for": forwarded },
          body: { key, value: "v" },
        });
        assert.equal(r.statusCode, 201, r.body);
        const row = await get()
          .database.db.selectFrom("audit_log")
          .select("extra")
          .where("event", "=", "post_variable")
          .where("extra", "like", `%${key}%`)
          .executeTakeFirstOrThrow();
        return (JSON.parse(row.extra!) as { ip: string }).ip;
      };
      assert.equal(await audited("203.0.113.9", "10.9.8.7", "from_stranger"), "203.0.113.9");
      assert.equal(await audited("127.0.0.1", "198.51.100.7", "from_proxy"), "198.51.100.7");
    });

    test("services listen on this machine by default; /metrics wants the bearer token once it is set (19)", async () => {
      const defaults = loadConfig({ env: { UPDRAFT_HOME: get().home } }).values;
      assert.equal(defaults.api.host, "127.0.0.1");
      assert.equal(defaults.metrics.host, "127.0.0.1");
      const stranger = await get().app.inject({ url: "/metrics" });
      assert.equal(stranger.statusCode, 401);
      assert.doesNotMatch(stranger.body, /updraft_/);
      const wrong = await get().app.inject({ url: "/metrics", headers: { authorization: "Bearer nope" } });
      assert.equal(wrong.statusCode, 401);
      const right = await get().app.inject({
        url: "/metrics",
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      assert.equal(right.statusCode, 200);
      assert.match(right.body, /# HELP/);
    });

    test("a run id outside the allowed pattern and a key no database stores alike are refused (21)", async () => {
      for (const runId of ["../x", "a/b", "<script>", "."]) {
        const r = await get().call("trigger_dag_run", {
          path: { dag_id: "plain" },
          body: { logical_date: null, dag_run_id: runId },
        });
        assert.equal(r.status, 400, `${runId}: ${JSON.stringify(r.body)}`);
        assert.match(r.body.detail, /allowed_run_id_pattern/);
      }
      const fine = await get().call("trigger_dag_run", {
        path: { dag_id: "plain" },
        body: { logical_date: null, dag_run_id: "my_run-1.2:3+4~5" },
      });
      assert.equal(fine.status, 200);

      const long = await get().call("post_variable", { body: { key: "k".repeat(251), value: "v" } });
      assert.equal(long.status, 422);
      const surrogate = await get().call("post_variable", { body: { key: "lone\ud800", value: "v" } });
      assert.equal(surrogate.status, 422);
      const empty = await get().call("post_variable", { body: { key: "", value: "v" } });
      assert.equal(empty.status, 422);
      const kept = await get().call("post_variable", { body: { key: "k".repeat(250), value: "v" } });
      assert.equal(kept.status, 201);
      const read = await get().call("get_variable", { path: { variable_key: "k".repeat(250) } });
      assert.equal(read.body.value, "v");
    });
  },
);

forEachDatabase("variables import refuses keys no database stores alike", (get) => {
  test("a 251-character key or a lone surrogate stops the import before anything is written (21)", () => {
    const home = mkdtempSync(join(tmpdir(), "updraft-inputs-"));
    const env = {
      ...process.env,
      UPDRAFT_HOME: home,
      UPDRAFT__DATABASE__URL: childUrl(get()),
      UPDRAFT__CORE__LOAD_EXAMPLES: "false",
    };
    const cli = (...args: string[]) => {
      const r = spawnSync(process.execPath, [MAIN, ...args], { env, encoding: "utf8", timeout: 60_000 });
      return { code: r.status, out: `${r.stdout}\n${r.stderr}` };
    };
    assert.equal(cli("db", "migrate").code, 0);
    for (const [bad, why] of [
      ["k".repeat(251), /251 characters long \(at most 250\)/],
      ["lone\ud800", /lone UTF-16 surrogate/],
    ] as const) {
      const file = join(home, "vars.json");
      // Written by hand: JSON.stringify would escape the lone surrogate, which is what a file may hold.
      writeFileSync(file, `{"first_ok": "1", ${JSON.stringify(bad)}: "2"}`);
      const r = cli("variables", "import", file);
      assert.equal(r.code, 2, r.out);
      assert.match(r.out, why);
      assert.match(r.out, /nothing was imported/);
      assert.notEqual(cli("variables", "get", "first_ok").code, 0, "the good key before it was not written");
    }
    rmSync(home, { recursive: true, force: true });
  });
});
