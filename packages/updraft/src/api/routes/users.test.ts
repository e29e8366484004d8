/**
 * The users and roles API (Airflow's FAB auth manager paths): create, list, get, change role,
 * deactivate (then login is refused), reset password, delete; Admin only; no password or hash is
 * ever answered; every change is in the audit log; the served OpenAPI document describes them.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { userStore, type Role } from "../../storage/users.ts";
import { forEachApiDatabase } from "../../test-support/api.ts";

const PASSWORD = "carol-Secret-pass-42";
const NEW_PASSWORD = "new-Pass-99";

forEachApiDatabase("users API", {}, (get) => {
  /** Calls /auth/fab/v1 as `as`; fails on any answer that holds a password or a hash. */
  const call = async (
    method: "GET" | "POST" | "PATCH" | "DELETE",
    path: string,
    { body, as = "Admin" }: { body?: unknown; as?: Role } = {},
  ) => {
    const r = await get().app.inject({
      method,
      url: `/auth/fab/v1${path}`,
      headers: { authorization: `Bearer ${get().tokens[as]}` },
      ...(body !== undefined ? { payload: body as object } : {}),
    });
    for (const secret of ["scrypt$", "password_hash", PASSWORD, NEW_PASSWORD])
      assert.ok(!r.body.includes(secret), `${method} ${path} answered a password or its hash: ${r.body}`);
    return { status: r.statusCode, body: r.body ? r.json() : null };
  };
  const login = async (username: string, password: string) =>
    (
      await get().app.inject({
        method: "POST",
        url: "/auth/token",
        payload: { username, password },
      })
    ).statusCode;

  test("create, list, get, change role, deactivate, reset password and delete a user", async () => {
    const created = await call("POST", "/users", {
      body: {
        username: "carol",
        email: "carol@example.com",
        first_name: "Carol",
        last_name: "Jones",
        roles: [{ name: "Viewer" }],
        password: PASSWORD,
      },
    });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    assert.equal(created.body.username, "carol");
    assert.deepEqual(created.body.roles, [{ name: "Viewer" }]);
    assert.equal(created.body.active, true);
    assert.equal(created.body.email, "carol@example.com");
    assert.equal(await login("carol", PASSWORD), 201);

    const again = await call("POST", "/users", {
      body: { username: "carol", roles: [{ name: "Viewer" }], password: "x" },
    });
    assert.equal(again.status, 409);
    const badRole = await call("POST", "/users", {
      body: { username: "dave", roles: [{ name: "Wizard" }], password: PASSWORD },
    });
    assert.equal(badRole.status, 400);
    assert.match(badRole.body.detail, /Wizard/);
    const noPassword = await call("POST", "/users", {
      body: { username: "dave", roles: [{ name: "User" }] },
    });
    assert.equal(noPassword.status, 422);

    const list = await call("GET", "/users?limit=2&offset=0&order_by=username");
    assert.equal(list.status, 200);
    assert.equal(list.body.total_entries, 5, "admin, carol, op, user, viewer");
    assert.deepEqual(
      list.body.users.map((u: { username: string }) => u.username),
      ["admin", "carol"],
    );
    const newest = await call("GET", "/users?limit=1&order_by=-username");
    assert.equal(newest.body.users[0].username, "viewer");
    assert.equal((await call("GET", "/users?order_by=secret")).status, 400);

    const one = await call("GET", "/users/carol");
    assert.equal(one.status, 200);
    assert.equal(one.body.first_name, "Carol");
    assert.equal(typeof one.body.created_on, "string");
    assert.equal((await call("GET", "/users/nobody")).status, 404);

    const role = await call("PATCH", "/users/carol?update_mask=roles", {
      body: { username: "carol", roles: [{ name: "Op" }], email: "ignored@example.com" },
    });
    assert.equal(role.status, 200, JSON.stringify(role.body));
    assert.deepEqual(role.body.roles, [{ name: "Op" }]);
    assert.equal(role.body.email, "carol@example.com", "update_mask leaves the e-mail alone");
    assert.equal((await userStore(get().database).get("carol"))?.role, "Op");

    const off = await call("PATCH", "/users/carol?update_mask=active", { body: { active: false } });
    assert.equal(off.status, 200);
    assert.equal(off.body.active, false);
    assert.equal(await login("carol", PASSWORD), 401, "a deactivated user cannot log in");
    await call("PATCH", "/users/carol?update_mask=active", { body: { active: true } });
    assert.equal(await login("carol", PASSWORD), 201);

    const reset = await call("PATCH", "/users/carol?update_mask=password", {
      body: { password: NEW_PASSWORD },
    });
    assert.equal(reset.status, 200);
    assert.equal(await login("carol", PASSWORD), 401);
    assert.equal(await login("carol", NEW_PASSWORD), 201);

    assert.equal((await call("DELETE", "/users/carol")).status, 204);
    assert.equal(await userStore(get().database).get("carol"), undefined);
    assert.equal((await call("DELETE", "/users/carol")).status, 404);

    const events = await get().call("get_event_logs", { query: { owner: "admin", order_by: ["id"] } });
    const kinds = events.body.event_logs.map((e: { event: string }) => e.event);
    for (const event of ["post_user", "patch_user", "delete_user"]) assert.ok(kinds.includes(event), event);
    assert.ok(!JSON.stringify(events.body).includes(NEW_PASSWORD), "the audit log holds no password");
  });

  test("only Admins manage users: every other role is refused with 403", async () => {
    for (const role of ["Op", "User", "Viewer"] as const) {
      const list = await call("GET", "/users", { as: role });
      assert.equal(list.status, 403);
      assert.match(list.body.detail, new RegExp(`\\(${role}\\)`));
      const create = await call("POST", "/users", {
        as: role,
        body: { username: `by_${role}`, roles: [{ name: "Admin" }], password: "x" },
      });
      assert.equal(create.status, 403);
      assert.equal(await userStore(get().database).get(`by_${role}`), undefined);
      assert.equal((await call("PATCH", "/users/viewer", { as: role, body: { active: false } })).status, 403);
      assert.equal((await call("DELETE", "/users/viewer", { as: role })).status, 403);
      assert.equal((await call("GET", "/roles", { as: role })).status, 403);
    }
    const anonymous = await get().app.inject({ method: "GET", url: "/auth/fab/v1/users" });
    assert.equal(anonymous.statusCode, 401);
  });

  test("an admin cannot lock themselves out; roles lists the four roles", async () => {
    assert.equal((await call("DELETE", "/users/admin")).status, 400);
    assert.equal((await call("PATCH", "/users/admin", { body: { active: false } })).status, 400);
    assert.equal(
      (await call("PATCH", "/users/admin", { body: { roles: [{ name: "Viewer" }] } })).status,
      400,
    );
    assert.equal((await userStore(get().database).get("admin"))?.role, "Admin");
    const roles = await call("GET", "/roles");
    assert.deepEqual(
      roles.body.roles.map((r: { name: string }) => r.name),
      ["Admin", "Op", "User", "Viewer"],
    );
  });

  test("the served OpenAPI document describes the users and roles operations", async () => {
    const r = await get().app.inject({ method: "GET", url: "/api/v2/openapi.json" });
    const paths = r.json().paths;
    assert.equal(paths["/auth/fab/v1/users"].get.operationId, "get_users");
    assert.equal(paths["/auth/fab/v1/users"].post.operationId, "post_user");
    assert.deepEqual(Object.keys(paths["/auth/fab/v1/users/{username}"]).sort(), ["delete", "get", "patch"]);
    assert.equal(paths["/auth/fab/v1/roles"].get.operationId, "get_roles");
    assert.ok(paths["/api/v2/dags"], "Airflow's operations are still there");
  });
});
