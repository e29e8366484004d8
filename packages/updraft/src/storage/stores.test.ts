/** The conformance suite of the simple stores: the same assertions on SQLite, PostgreSQL, MariaDB. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { createCipher, generateKey } from "../secrets/cipher.ts";
import { forEachDatabase } from "../test-support/databases.ts";
import { connectionStore } from "./connections.ts";
import { poolStore } from "./pools.ts";
import { variableStore } from "./variables.ts";

const cipher = createCipher(generateKey());

forEachDatabase("variable store", (get) => {
  test("set, get, overwrite, list and delete", async () => {
    const store = variableStore(get(), cipher);
    await store.set({ key: "region", value: "eu-west-1", description: "where we run" });
    await store.set({ key: "region", value: "eu-central-1" });
    await store.set({ key: "big", value: "x".repeat(200_000) });
    assert.deepEqual(await store.get("region"), {
      key: "region",
      value: "eu-central-1",
      description: null,
      isSecret: false,
    });
    assert.equal((await store.get("big"))?.value.length, 200_000);
    assert.deepEqual(
      (await store.list()).map((v) => v.key),
      ["big", "region"],
    );
    await store.delete("region");
    assert.equal(await store.get("region"), undefined);
    await assert.rejects(store.delete("region"), /variable "region" does not exist/);
  });

  test("secret values are encrypted at rest and read back in clear", async () => {
    const store = variableStore(get(), cipher);
    await store.set({ key: "api", value: "hunter2", isSecret: true });
    await store.set({ key: "db_password", value: "s3cr3t ünïcode" });
    const raw = await get()
      .db.selectFrom("variable")
      .select(["key", "val", "is_encrypted"])
      .where("key", "in", ["api", "db_password"])
      .execute();
    for (const row of raw) {
      assert.equal(row.is_encrypted, 1);
      assert.ok(
        row.val?.startsWith("enc:v1:") && !row.val.includes("hunter2") && !row.val.includes("s3cr3t"),
      );
    }
    assert.equal((await store.get("api"))?.value, "hunter2");
    assert.equal((await store.get("db_password"))?.value, "s3cr3t ünïcode");
    await assert.rejects(variableStore(get(), createCipher(generateKey())).get("api"), /does not match/);
  });
});

forEachDatabase("connection store", (get) => {
  const conn = {
    connId: "warehouse",
    connType: "postgres",
    description: "the warehouse",
    host: "db.example.com",
    login: "etl",
    password: "p@ss:word/1",
    schema: "analytics",
    port: 5432,
    extra: JSON.stringify({ sslmode: "require" }),
  };

  test("round-trips every field, password and extra encrypted at rest", async () => {
    const store = connectionStore(get(), cipher);
    await store.set(conn);
    assert.deepEqual(await store.get("warehouse"), conn);
    const row = await get()
      .db.selectFrom("connection")
      .selectAll()
      .where("conn_id", "=", "warehouse")
      .executeTakeFirstOrThrow();
    assert.ok(!row.password?.includes("p@ss") && !row.extra?.includes("sslmode"));
    assert.equal(row.is_encrypted, 1);
    assert.equal(row.is_extra_encrypted, 1);
  });

  test("updates in place, lists in order, deletes", async () => {
    const store = connectionStore(get(), cipher);
    await store.set({ ...conn, host: "db2.example.com", password: null, extra: null });
    await store.set({ ...conn, connId: "api", connType: "http" });
    const got = await store.get("warehouse");
    assert.equal(got?.host, "db2.example.com");
    assert.equal(got?.password, null);
    assert.deepEqual(
      (await store.list()).map((c) => c.connId),
      ["api", "warehouse"],
    );
    assert.equal(await store.exists("api"), true);
    await store.delete("api");
    assert.equal(await store.exists("api"), false);
    await assert.rejects(store.delete("api"), /connection "api" does not exist/);
  });
});

forEachDatabase("pool store", (get) => {
  test("default_pool exists and cannot be deleted", async () => {
    const store = poolStore(get());
    assert.equal((await store.get("default_pool"))?.slots, 128);
    await assert.rejects(store.delete("default_pool"), /cannot be deleted/);
  });

  test("set, update, list, delete; bad slot counts are refused", async () => {
    const store = poolStore(get());
    await store.set({ name: "gpu", slots: 2, description: "the GPU box" });
    await store.set({ name: "gpu", slots: 4 });
    assert.deepEqual(await store.get("gpu"), {
      name: "gpu",
      slots: 4,
      description: null,
      includeDeferred: false,
    });
    assert.deepEqual(
      (await store.list()).map((p) => p.name),
      ["default_pool", "gpu"],
    );
    await assert.rejects(store.set({ name: "bad", slots: 1.5 }), /slots must be a whole number/);
    await store.delete("gpu");
    assert.equal(await store.get("gpu"), undefined);
  });
});
