/**
 * database.health against real PostgreSQL and MariaDB behind a fault proxy: a connection lost under a
 * running query fails that query (and only it: the process lives), the outage is reported once, and
 * the database is found again by itself when it is back.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { sql } from "kysely";
import { MYSQL_URL, POSTGRES_URL } from "../test-support/databases.ts";
import { startFaultProxy } from "../test-support/fault-proxy.ts";
import { openDatabase } from "./database.ts";
import type { HealthEvent } from "./health.ts";
import { isDbConnectionError, isTransientDbError } from "./retry.ts";

const TARGETS = [
  { name: "postgres", url: POSTGRES_URL, slow: sql`select pg_sleep(3)` },
  { name: "mysql", url: MYSQL_URL, slow: sql`select sleep(3)` },
] as const;

for (const target of TARGETS) {
  describe(`database health [${target.name}]`, () => {
    test("a lost connection fails its query, the outage is reported once, and recovery is found", async () => {
      const u = new URL(target.url);
      const proxy = await startFaultProxy({ host: u.hostname, port: Number(u.port) });
      const database = openDatabase(proxy.url(target.url), { poolSize: 2 });
      const events: HealthEvent["type"][] = [];
      database.health.on((e) => events.push(e.type));
      try {
        await sql`select 1`.execute(database.db);
        const running = target.slow.execute(database.db).then(
          () => null,
          (error: unknown) => error,
        );
        await new Promise((r) => setTimeout(r, 300));
        proxy.cut();
        const error = await running;
        assert.ok(error, "the query under the lost connection failed");
        assert.ok(isDbConnectionError(error), `a lost connection: ${String(error)}`);
        assert.ok(isTransientDbError(error));
        // Further queries are refused; still one "unreachable".
        for (let i = 0; i < 3; i++)
          await assert.rejects(sql`select 1`.execute(database.db), (e) => isDbConnectionError(e));
        await waitUntil(() => !database.health.reachable, 5_000);
        assert.deepEqual(events, ["unreachable"]);
        proxy.restore();
        await waitUntil(() => database.health.reachable, 8_000);
        assert.deepEqual(events, ["unreachable", "reachable"]);
        await sql`select 1`.execute(database.db);
      } finally {
        await database.close();
        await proxy.close();
      }
    });

    test("a partition (no answer at all) is found by the probe's time limit", async () => {
      const u = new URL(target.url);
      const proxy = await startFaultProxy({ host: u.hostname, port: Number(u.port) });
      const database = openDatabase(proxy.url(target.url), { poolSize: 2 });
      try {
        await sql`select 1`.execute(database.db);
        proxy.blackhole();
        const started = performance.now();
        assert.equal(await database.health.check(), false);
        assert.ok(performance.now() - started < 2_500);
        assert.equal(database.health.reachable, false);
        proxy.restore();
        await waitUntil(() => database.health.reachable, 8_000);
      } finally {
        proxy.restore();
        await database.close();
        await proxy.close();
      }
    });
  });
}

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
