import assert from "node:assert/strict";
import { test } from "node:test";
import { createCipher } from "../../secrets/cipher.ts";
import { connectionStore } from "../../storage/connections.ts";
import { forEachApiDatabase, type ApiHarness } from "../../test-support/api.ts";
import { POSTGRES_URL } from "../../test-support/databases.ts";

const PASSWORD = "P@ss-w0rd-never-shown";
const EXTRA_SECRET = "extra-token-never-shown";

forEachApiDatabase("connections API", { env: { UPDRAFT__CORE__TEST_CONNECTION: "Enabled" } }, (get) => {
  const call: ApiHarness["call"] = async (op, request) => {
    const response = await get().call(op, request);
    const text = JSON.stringify(response.body);
    assert.ok(!text.includes(PASSWORD) && !text.includes(EXTRA_SECRET), `${op} leaked a secret: ${text}`);
    return response;
  };
  const store = () =>
    connectionStore(get().database, createCipher(get().config.values.security.encryption_key));
  const body = (id: string, more: Record<string, unknown> = {}) => ({
    connection_id: id,
    conn_type: "postgres",
    host: "db.example.com",
    login: "etl",
    password: PASSWORD,
    schema: "warehouse",
    port: 5432,
    extra: JSON.stringify({ sslmode: "require", auth: { token: EXTRA_SECRET } }),
    ...more,
  });

  test("create, read, list, update and delete; the password and secret extras are masked", async () => {
    const created = await call("post_connection", { body: body("warehouse_db", { description: "main" }) });
    assert.equal(created.status, 201);
    assert.deepEqual(created.body, {
      connection_id: "warehouse_db",
      conn_type: "postgres",
      description: "main",
      host: "db.example.com",
      login: "etl",
      schema: "warehouse",
      port: 5432,
      password: "***",
      extra: '{"sslmode":"require","auth":{"token":"***"}}',
      team_name: null,
    });
    const stored = await store().get("warehouse_db");
    assert.equal(stored?.password, PASSWORD, "the real password is stored (encrypted)");
    const row = await get()
      .database.db.selectFrom("connection")
      .selectAll()
      .where("conn_id", "=", "warehouse_db")
      .executeTakeFirstOrThrow();
    assert.ok(!row.password?.includes(PASSWORD) && !row.extra?.includes(EXTRA_SECRET));

    const one = await call("get_connection", { path: { connection_id: "warehouse_db" } });
    assert.equal(one.body.password, "***");
    assert.equal(one.body.host, "db.example.com");

    const dup = await call("post_connection", { body: body("warehouse_db") });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.detail, "The Connection with connection_id: `warehouse_db` already exists");

    // Writing back what was read (masks included) keeps the secrets; the mask narrows the change.
    const edited = await call("patch_connection", {
      path: { connection_id: "warehouse_db" },
      body: { ...one.body, team_name: undefined, host: "db2.example.com", port: 6543 },
    });
    assert.equal(edited.status, 200);
    assert.equal(edited.body.host, "db2.example.com");
    const after = await store().get("warehouse_db");
    assert.equal(after?.password, PASSWORD);
    assert.equal(JSON.parse(after!.extra!).auth.token, EXTRA_SECRET);
    const masked = await call("patch_connection", {
      path: { connection_id: "warehouse_db" },
      query: { update_mask: ["login"] },
      body: { connection_id: "warehouse_db", conn_type: "mysql", login: "reporter", password: "changed" },
    });
    assert.equal(masked.body.login, "reporter");
    assert.equal(masked.body.conn_type, "postgres", "conn_type was not in the mask");
    assert.equal((await store().get("warehouse_db"))?.password, PASSWORD);
    await call("patch_connection", {
      path: { connection_id: "warehouse_db" },
      query: { update_mask: ["password"] },
      body: { connection_id: "warehouse_db", conn_type: "postgres", password: "new-secret" },
    });
    assert.equal((await store().get("warehouse_db"))?.password, "new-secret");

    await call("post_connection", {
      body: { connection_id: "http_api", conn_type: "http", host: "api.example.com" },
    });
    const list = await call("get_connections", { query: { order_by: ["-connection_id"] } });
    assert.equal(list.status, 200);
    assert.deepEqual(
      list.body.connections.map((c: { connection_id: string }) => c.connection_id),
      ["warehouse_db", "http_api"],
    );
    assert.equal(list.body.connections[1].password, null, "no password: null, not a mask");
    const filtered = await call("get_connections", { query: { connection_id_pattern: "HTTP" } });
    assert.equal(filtered.body.total_entries, 1);
    assert.equal(filtered.body.connections[0].connection_id, "http_api");
    const paged = await call("get_connections", { query: { limit: 1, offset: 1, order_by: ["conn_type"] } });
    assert.equal(paged.body.total_entries, 2);
    assert.equal(paged.body.connections[0].connection_id, "warehouse_db");

    assert.equal((await call("delete_connection", { path: { connection_id: "http_api" } })).status, 204);
    const gone = await call("get_connection", { path: { connection_id: "http_api" } });
    assert.equal(gone.status, 404);
    assert.equal(gone.body.detail, "The Connection with connection_id: `http_api` was not found");
    assert.equal((await call("delete_connection", { path: { connection_id: "http_api" } })).status, 404);

    const events = await call("get_event_logs", { query: { event_pattern: "connection", order_by: ["id"] } });
    assert.deepEqual(
      events.body.event_logs.map((e: { event: string }) => e.event),
      [
        "post_connection",
        "patch_connection",
        "patch_connection",
        "patch_connection",
        "post_connection",
        "delete_connection",
      ],
    );
    assert.equal(JSON.parse(events.body.event_logs[0].extra).connection_id, "warehouse_db");
    assert.equal(events.body.event_logs[0].owner, "admin");
    await call("delete_connection", { path: { connection_id: "warehouse_db" } });
  });

  test("bad requests: 400 id mismatch, 404 missing, 422 invalid fields", async () => {
    await call("post_connection", { body: body("c1") });
    const mismatch = await call("patch_connection", { path: { connection_id: "c1" }, body: body("c2") });
    assert.equal(mismatch.status, 400);
    const missing = await call("patch_connection", { path: { connection_id: "c9" }, body: body("c9") });
    assert.equal(missing.status, 404);
    const badExtra = await call("post_connection", { body: body("c3", { extra: "[1, 2]" }) });
    assert.equal(badExtra.status, 422);
    assert.deepEqual(badExtra.body.detail[0].loc, ["body", "extra"]);
    const badPort = await call("post_connection", { body: body("c3", { port: 70000 }) });
    assert.equal(badPort.status, 422);
    const badId = await call("post_connection", { body: body("bad id!") });
    assert.equal(badId.status, 422);
    const noType = await call("post_connection", { body: { connection_id: "c4" } });
    assert.equal(noType.status, 422);
    assert.equal(await store().get("c3"), undefined);
    await call("delete_connection", { path: { connection_id: "c1" } });
  });

  test("roles: Viewer and User may not read or change connections; Op may", async () => {
    assert.equal((await call("get_connections", { as: "Viewer" })).status, 403);
    assert.equal((await call("get_connections", { as: "User" })).status, 403);
    assert.equal((await call("post_connection", { as: "User", body: body("by_user") })).status, 403);
    assert.equal((await call("post_connection", { as: "Op", body: body("by_op") })).status, 201);
    assert.equal(
      (await call("delete_connection", { as: "Op", path: { connection_id: "by_op" } })).status,
      204,
    );
  });

  test("bulk create / update / delete", async () => {
    await call("post_connection", { body: body("b1") });
    const response = await call("bulk_connections", {
      body: {
        actions: [
          { action: "create", entities: [body("b1"), body("b2")] },
          {
            action: "create",
            action_on_existence: "overwrite",
            entities: [body("b1", { host: "h1", password: "***" }), body("b2")],
          },
          {
            action: "update",
            entities: [{ connection_id: "b2", conn_type: "mysql", port: 3306 }],
            update_mask: ["conn_type", "port"],
          },
          { action: "delete", action_on_non_existence: "skip", entities: ["b1", "missing"] },
        ],
      },
    });
    assert.equal(response.status, 200);
    assert.deepEqual(response.body.create, {
      success: ["b1", "b2"],
      errors: [
        { error: "The connections with these connection_ids: {'b1'} already exist.", status_code: 409 },
      ],
    });
    assert.deepEqual(response.body.update, { success: ["b2"], errors: [] });
    assert.deepEqual(response.body.delete, { success: ["b1"], errors: [] });
    const b2 = await store().get("b2");
    assert.equal(b2?.connType, "mysql");
    assert.equal(b2?.port, 3306);
    assert.equal(b2?.password, PASSWORD, "fields outside the mask stay");
    assert.equal(await store().get("b1"), undefined);
    const invalid = await call("bulk_connections", {
      body: { actions: [{ action: "create", entities: [body("b3", { extra: "not json" })] }] },
    });
    assert.equal(invalid.body.create.errors[0].status_code, 422);
    assert.match(invalid.body.create.errors[0].error, /^extra: /);
    await call("delete_connection", { path: { connection_id: "b2" } });
  });

  test("test_connection: a reachable PostgreSQL, a bad password, and unsupported types", async () => {
    const url = new URL(POSTGRES_URL);
    const ok = await call("test_connection", {
      body: {
        connection_id: "probe",
        conn_type: "postgres",
        host: url.hostname,
        port: Number(url.port || 5432),
        login: decodeURIComponent(url.username),
        password: decodeURIComponent(url.password) || null,
        schema: url.pathname.slice(1),
      },
    });
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.body, { status: true, message: "Connection successfully tested" });
    const refused = await call("test_connection", {
      body: {
        connection_id: "probe",
        conn_type: "mysql",
        host: "127.0.0.1",
        port: 1,
        login: "x",
        password: PASSWORD,
      },
    });
    assert.equal(refused.body.status, false);
    assert.ok(refused.body.message.length > 0);
    const http = await call("test_connection", {
      body: { connection_id: "probe", conn_type: "http", host: "127.0.0.1", port: 1 },
    });
    assert.equal(http.body.status, false, "an http connection is tested by a request to its base URL");
    const generic = await call("test_connection", {
      body: { connection_id: "probe", conn_type: "generic", host: "x" },
    });
    assert.deepEqual(generic.body, {
      status: false,
      message: "testing generic connections is not supported: the type declares no test",
    });
    assert.equal(
      (await call("test_connection", { as: "User", body: { connection_id: "p", conn_type: "http" } })).status,
      403,
    );
  });

  test("create_default_connections adds the missing defaults once", async () => {
    await call("post_connection", {
      body: { connection_id: "http_default", conn_type: "http", host: "mine" },
    });
    assert.equal((await call("create_default_connections", { as: "User" })).status, 403);
    const r = await call("create_default_connections", {});
    assert.equal(r.status, 204);
    const list = await call("get_connections", { query: { order_by: ["connection_id"] } });
    assert.deepEqual(
      list.body.connections.map((c: { connection_id: string }) => c.connection_id),
      ["fs_default", "http_default", "mysql_default", "postgres_default", "redis_default"],
    );
    assert.equal(list.body.connections[1].host, "mine", "an existing connection is kept");
    assert.equal(list.body.connections[3].password, "***");
    assert.equal((await call("create_default_connections", {})).status, 204);
    assert.equal((await call("get_connections", {})).body.total_entries, 5);
    const audit = await call("get_event_logs", {
      query: { event: "create_default_connections", order_by: ["id"] },
    });
    assert.equal(JSON.parse(audit.body.event_logs[0].extra).created.length, 4);
  });
});
