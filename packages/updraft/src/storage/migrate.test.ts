import assert from "node:assert/strict";
import { test } from "node:test";
import { sql } from "kysely";
import { forEachDatabase } from "../test-support/databases.ts";
import { migrateDatabase, migrationStatus, resetDatabase } from "./migrate.ts";
import { TABLE_NAMES } from "./schema.ts";

forEachDatabase("migrations", (get) => {
  test("create every table and seed the default pool", async () => {
    const tables = await get().db.introspection.getTables();
    const names = new Set(tables.map((t) => t.name));
    for (const table of TABLE_NAMES) assert.ok(names.has(table), `table ${table} exists`);
    const pool = await get()
      .db.selectFrom("slot_pool")
      .selectAll()
      .where("pool", "=", "default_pool")
      .executeTakeFirstOrThrow();
    assert.equal(pool.slots, 128);
  });

  test("are idempotent: a second run applies nothing", async () => {
    assert.deepEqual(await migrateDatabase(get()), []);
    const status = await migrationStatus(get());
    assert.ok(status.length > 0 && status.every((m) => m.appliedAt !== null));
  });

  test("two migrations at once are safe", async () => {
    const results = await Promise.all([migrateDatabase(get()), migrateDatabase(get())]);
    assert.deepEqual(results, [[], []]);
  });

  test("reset drops data and migrates afresh", async () => {
    await get()
      .db.insertInto("variable")
      .values({ key: "k", val: "v", description: null, is_encrypted: 0 })
      .execute();
    await resetDatabase(get());
    const rows = await get().db.selectFrom("variable").selectAll().execute();
    assert.equal(rows.length, 0);
    const { rows: one } = await sql<{ n: number }>`select 1 as n`.execute(get().db);
    assert.equal(Number(one[0]!.n), 1);
  });

  test("timestamps sort as text in every database", async () => {
    const db = get().db;
    const base = { dag_id: "d", state: "queued", run_type: "manual", updated_at: new Date().toISOString() };
    const dates = ["2025-03-01T00:00:00.000Z", "2024-12-31T23:59:59.999Z", "2025-01-01T00:00:00.000Z"];
    for (const [i, d] of dates.entries()) {
      await db
        .insertInto("dag_run")
        .values({ ...base, run_id: `r${i}`, logical_date: d, run_after: d })
        .execute();
    }
    const sorted = await db.selectFrom("dag_run").select("logical_date").orderBy("logical_date").execute();
    assert.deepEqual(
      sorted.map((r) => r.logical_date),
      [...dates].sort(),
    );
  });
});
