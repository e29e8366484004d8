/**
 * Sessions and logins (issue 13, items 1, 5, 7, 11, 16, 21): a token ends with logout, a new
 * password, a new role, deactivation and deletion; parallel guesses are judged one at a time; the
 * lock looks the same for names that exist and names that do not; an address spraying names is
 * throttled; strangers get 401 before any validation; short passwords are refused. On every database.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { forEachApiDatabase, PASSWORDS } from "../test-support/api.ts";

const PASSWORD = "a-long-enough-password";

forEachApiDatabase("sessions end when they should", { allDatabases: true }, (get) => {
  const inject = (o: {
    method?: "GET" | "POST" | "PATCH" | "DELETE";
    url: string;
    token?: string;
    body?: unknown;
    ip?: string;
    cookie?: string;
    headers?: Record<string, string>;
  }) =>
    get().app.inject({
      method: o.method ?? "GET",
      url: o.url,
      remoteAddress: o.ip ?? "127.0.0.1",
      headers: {
        ...(o.token ? { authorization: `Bearer ${o.token}` } : {}),
        ...(o.cookie ? { cookie: o.cookie } : {}),
        ...o.headers,
      },
      ...(o.body !== undefined ? { payload: o.body as object } : {}),
    });
  const login = async (username: string, password: string, ip = "127.0.0.1") => {
    const r = await inject({ method: "POST", url: "/auth/token", body: { username, password }, ip });
    return { status: r.statusCode, token: r.statusCode === 201 ? (r.json().access_token as string) : "" };
  };
  const admin = (method: "POST" | "PATCH" | "DELETE", path: string, body?: unknown) =>
    inject({ method, url: `/auth/fab/v1${path}`, token: get().tokens.Admin, body });
  const dags = (token: string) => inject({ url: "/api/v2/dags", token }).then((r) => r.statusCode);
  const newUser = async (username: string, role = "Op") => {
    const r = await admin("POST", "/users", { username, roles: [{ name: role }], password: PASSWORD });
    assert.equal(r.statusCode, 200, r.body);
    const { token } = await login(username, PASSWORD);
    assert.equal(await dags(token), 200);
    return token;
  };

  test("logout ends the token at once (POST /auth/logout), and the UI's cookie session (GET)", async () => {
    const token = await newUser("leaver");
    const out = await inject({ method: "POST", url: "/auth/logout", token });
    assert.equal(out.statusCode, 204);
    assert.equal(await dags(token), 401, "the token is refused after logout");
    const again = await login("leaver", PASSWORD);
    assert.equal(await dags(again.token), 200, "a new login works");

    const ui = await inject({
      method: "POST",
      url: "/auth/login",
      body: { username: "leaver", password: PASSWORD },
    });
    const cookie = ui.cookies.map((c) => `${c.name}=${c.value}`).join("; ");
    assert.equal((await inject({ url: "/api/v2/dags", cookie })).statusCode, 200);
    assert.equal((await inject({ url: "/api/v2/auth/logout", cookie })).statusCode, 307);
    assert.equal((await inject({ url: "/api/v2/dags", cookie })).statusCode, 401, "the cookie is dead too");
  });

  test("a new password, a demotion, a deactivation and a deletion act on the next request", async () => {
    const reset = await newUser("resetme");
    assert.equal(
      (await admin("PATCH", "/users/resetme?update_mask=password", { password: "another-long-pass" }))
        .statusCode,
      200,
    );
    assert.equal(await dags(reset), 401, "a password reset ends older sessions");

    const demoted = await newUser("demoteme", "Op");
    const variable = () =>
      inject({
        method: "POST",
        url: "/api/v2/variables",
        token: demoted,
        body: { key: "k_demo", value: "v" },
      });
    assert.equal((await variable()).statusCode, 201, "an Op may set variables");
    assert.equal(
      (await admin("PATCH", "/users/demoteme?update_mask=roles", { roles: [{ name: "Viewer" }] })).statusCode,
      200,
    );
    const after = await variable();
    assert.ok(
      [401, 403].includes(after.statusCode),
      `a demoted user keeps no Op rights: ${after.statusCode}`,
    );

    const inactive = await newUser("deactivateme");
    assert.equal(
      (await admin("PATCH", "/users/deactivateme?update_mask=active", { active: false })).statusCode,
      200,
    );
    assert.equal(await dags(inactive), 401);

    const deleted = await newUser("deleteme");
    assert.equal((await admin("DELETE", "/users/deleteme")).statusCode, 204);
    assert.equal(await dags(deleted), 401);
  });

  test("24 parallel wrong guesses: at most 3 are judged, the rest are 429 with Retry-After", async () => {
    await newUser("guessed");
    const answers = await Promise.all(
      Array.from({ length: 24 }, (_, i) => login("guessed", `wrong-${i}`, `10.0.0.${i + 1}`)),
    );
    const judged = answers.filter((a) => a.status === 401).length;
    const refused = answers.filter((a) => a.status === 429).length;
    assert.ok(judged <= 3, `${judged} guesses were judged`);
    assert.equal(judged + refused, 24);
    const locked = await inject({
      method: "POST",
      url: "/auth/token",
      body: { username: "guessed", password: PASSWORD },
    });
    assert.equal(locked.statusCode, 429, "even the right password waits while locked");
    assert.ok(Number(locked.headers["retry-after"]) >= 1);
  });

  test("the lock says the same for a name that does not exist", async () => {
    const answers = async (username: string) => {
      const seen: number[] = [];
      for (let i = 0; i < 5; i++) seen.push((await login(username, "wrong", `10.1.0.${i + 1}`)).status);
      return seen;
    };
    await newUser("realname");
    const real = await answers("realname");
    const ghost = await answers("no-such-user");
    assert.deepEqual(ghost, real);
    assert.deepEqual(real, [401, 401, 401, 429, 429]);
    const detail = (
      await inject({ method: "POST", url: "/auth/token", body: { username: "no-such-user", password: "x" } })
    ).json().detail;
    assert.match(detail, /Too many failed logins for "no-such-user"/);
  });

  test("an address spraying many names is throttled (429) while another address still logs in", async () => {
    const limit = get().config.values.api.login_failures_per_minute;
    for (let i = 0; i < limit; i++)
      assert.equal((await login(`spray-${i}`, "wrong", "10.9.9.9")).status, 401);
    const next = await login("spray-next", "wrong", "10.9.9.9");
    assert.equal(next.status, 429);
    assert.equal((await login("viewer", PASSWORDS.Viewer, "10.9.9.8")).status, 201);
  });

  test("a burst from one address sent at once gets no more than the limit judged (the rest 429)", async () => {
    const limit = get().config.values.api.login_failures_per_minute;
    const answers = await Promise.all(
      Array.from({ length: limit * 3 }, (_, i) => login(`burst-${i}`, "wrong", "10.9.9.7")),
    );
    const judged = answers.filter((a) => a.status === 401).length;
    assert.equal(judged, limit, `judged ${judged} of ${answers.length}`);
    assert.equal(answers.filter((a) => a.status === 429).length, limit * 2);
  });

  test("a stranger gets 401 before the request is validated", async () => {
    const r = await inject({ method: "POST", url: "/api/v2/variables", body: { nonsense: true } });
    assert.equal(r.statusCode, 401);
    const q = await inject({ url: "/api/v2/dags?limit=notanumber" });
    assert.equal(q.statusCode, 401);
  });

  test("passwords shorter than [api] password_min_length are refused", async () => {
    const r = await admin("POST", "/users", { username: "weak", roles: [{ name: "Admin" }], password: "a" });
    assert.equal(r.statusCode, 400);
    assert.match(r.json().detail, /too short: use at least 8 characters/);
  });
});
