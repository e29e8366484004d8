/**
 * Logging in, tokens, sessions and roles, against a real webserver: each role allowed and denied per
 * kind of operation, throttled logins, CSRF on cookie sessions, security headers, CORS off by default.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { SignJWT } from "jose";
import { forEachApiDatabase, PASSWORDS } from "../../test-support/api.ts";
import { ROLES, type Role } from "../../storage/users.ts";
import { operations } from "../spec.ts";
import { allows, needOf, type Need } from "./roles.ts";
import { signingKey } from "./tokens.ts";

const DAG = `import { dag, bash } from "updraft";
export default dag({ dagId: "guarded", tags: ["t"] }, () => { bash("hello", { command: "echo hi" }); });`;

/** One operation per kind of need, with a request that passes validation. */
const PROBES: Record<Exclude<Need, "open">, { op: string; path?: Record<string, string>; body?: unknown }> = {
  dag_read: { op: "get_dags" },
  dag_edit: { op: "patch_dag", path: { dag_id: "guarded" }, body: { is_paused: false } },
  admin_read: { op: "get_variables" },
  admin_edit: { op: "post_variable", body: { key: "k_probe", value: "v" } },
};
const EXPECTED: Record<Role, Need[]> = {
  Viewer: ["dag_read"],
  User: ["dag_read", "dag_edit"],
  Op: ["dag_read", "dag_edit", "admin_read", "admin_edit"],
  Admin: ["dag_read", "dag_edit", "admin_read", "admin_edit"],
};

test("every operation of the spec has a need, and the open ones are only health, version and login", () => {
  const open = [...operations().values()].filter((op) => needOf(op) === "open").map((op) => op.operationId);
  assert.deepEqual(open.sort(), ["get_health", "get_version", "login", "logout"]);
  assert.equal(needOf({ tag: "DagRun", method: "POST", operationId: "get_list_dag_runs_batch" }), "dag_read");
  for (const role of ROLES)
    for (const need of Object.keys(PROBES) as Need[])
      assert.equal(allows(role, need), EXPECTED[role].includes(need), `${role} ${need}`);
});

forEachApiDatabase("authentication and roles", { dags: { "guarded.ts": DAG } }, (get) => {
  test("POST /auth/token: 201 with a token for the right password, 401 for a wrong one, 422 without fields", async () => {
    const { app } = get();
    const ok = await app.inject({
      method: "POST",
      url: "/auth/token",
      payload: { username: "viewer", password: PASSWORDS.Viewer },
    });
    assert.equal(ok.statusCode, 201);
    assert.match(ok.json().access_token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
    const wrong = await app.inject({
      method: "POST",
      url: "/auth/token",
      payload: { username: "viewer", password: "nope" },
    });
    assert.equal(wrong.statusCode, 401);
    assert.deepEqual(wrong.json(), { detail: "Invalid username or password" });
    const missing = await app.inject({ method: "POST", url: "/auth/token", payload: { username: "x" } });
    assert.equal(missing.statusCode, 422);
    assert.deepEqual(missing.json().detail[0].loc, ["body", "password"]);
  });

  test("each role is allowed and denied as Airflow's roles are", async () => {
    for (const role of ROLES) {
      for (const [need, probe] of Object.entries(PROBES) as [Need, (typeof PROBES)["dag_read"]][]) {
        const r = await get().call(probe.op, { path: probe.path, body: probe.body, as: role });
        if (EXPECTED[role].includes(need))
          assert.ok(r.status < 400, `${role} may ${probe.op}: ${r.status} ${JSON.stringify(r.body)}`);
        else {
          assert.equal(r.status, 403, `${role} may not ${probe.op}`);
          assert.match(r.body.detail, new RegExp(`\\(${role}\\)`));
        }
        if (probe.op === "post_variable" && r.status < 400)
          await get().call("delete_variable", { path: { variable_key: "k_probe" } });
      }
    }
  });

  test("no token, a forged token and an expired token are 401", async () => {
    assert.equal((await get().call("get_dags", { as: null })).status, 401);
    const forged = await get().app.inject({
      url: "/api/v2/dags",
      headers: { authorization: `Bearer ${get().tokens.Admin.slice(0, -3)}abc` },
    });
    assert.equal(forged.statusCode, 401);
    const key = signingKey(get().config.values.api.secret_key, get().config.values.security.encryption_key);
    const expired = await new SignJWT({ role: "Admin" })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("admin")
      .setAudience("updraft")
      .setIssuedAt(Math.floor(Date.now() / 1000) - 100)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 10)
      .sign(key);
    const r = await get().app.inject({
      url: "/api/v2/dags",
      headers: { authorization: `Bearer ${expired}` },
    });
    assert.equal(r.statusCode, 401);
    assert.match(r.json().detail, /expired/);
  });

  test("repeated failed logins lock the user for a while, even with the right password", async () => {
    const { app } = get();
    const attempt = (password: string) =>
      app.inject({ method: "POST", url: "/auth/token", payload: { username: "user", password } });
    for (let i = 0; i < 3; i++) assert.equal((await attempt("wrong")).statusCode, 401);
    const locked = await attempt(PASSWORDS.User);
    assert.equal(locked.statusCode, 429);
    assert.match(locked.json().detail, /Too many failed logins for "user": try again in \d+ s/);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    assert.equal((await attempt(PASSWORDS.User)).statusCode, 201, "unlocked after the delay, counter reset");
  });

  test("a session cookie works for reads; changes also need the CSRF header", async () => {
    const { app } = get();
    const login = await app.inject({
      method: "POST",
      url: "/auth/login",
      payload: { username: "admin", password: PASSWORDS.Admin },
    });
    assert.equal(login.statusCode, 201);
    const cookies = Object.fromEntries(login.cookies.map((c) => [c.name, c]));
    assert.equal(cookies._token!.httpOnly, true);
    assert.equal(cookies._token!.sameSite, "Strict");
    const cookie = `_token=${cookies._token!.value}; updraft_csrf=${cookies.updraft_csrf!.value}`;
    assert.equal((await app.inject({ url: "/api/v2/dags", headers: { cookie } })).statusCode, 200);
    const patch = (headers: Record<string, string>) =>
      app.inject({
        method: "PATCH",
        url: "/api/v2/dags/guarded",
        headers: { cookie, ...headers },
        payload: { is_paused: true },
      });
    const without = await patch({});
    assert.equal(without.statusCode, 403);
    assert.match(without.json().detail, /CSRF/);
    assert.equal((await patch({ "x-csrf-token": "forged" })).statusCode, 403);
    assert.equal((await patch({ "x-csrf-token": cookies.updraft_csrf!.value })).statusCode, 200);
  });

  test("security headers are set and CORS is off unless configured", async () => {
    const r = await get().app.inject({
      url: "/api/v2/version",
      headers: { origin: "https://evil.example" },
    });
    assert.equal(r.headers["x-content-type-options"], "nosniff");
    assert.match(String(r.headers["content-security-policy"]), /default-src 'self'/);
    assert.ok(r.headers["x-frame-options"]);
    assert.equal(r.headers["access-control-allow-origin"], undefined);
  });
});
