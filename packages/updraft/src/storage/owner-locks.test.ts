/**
 * Liveness through owner locks, with a real process holding the lock and a real kill -9: the lock is
 * seen free (its owner dead) within a second, never while the owner lives.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { after, test } from "node:test";
import { sql } from "kysely";
import { fileURLToPath } from "node:url";
import { forEachDatabase, openedAs } from "../test-support/databases.ts";
import type { Database } from "./database.ts";
import { mysqlLockName } from "./dialects/mysql/owner-locks.ts";
import { postgresLockNamespace } from "./dialects/postgres/owner-locks.ts";
import { jobStore } from "./jobs.ts";

const HOLDER = fileURLToPath(new URL("../test-support/hold-owner-lock.ts", import.meta.url));

forEachDatabase("owner locks", (get) => {
  test("a live holder's lock is held; killed with SIGKILL, its lock is free within a second", async () => {
    const database = get();
    const { url, options } = openedAs(database);
    const child = spawn(process.execPath, [HOLDER, url, JSON.stringify(options)], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const exited = once(child, "exit");
    after(() => child.kill("SIGKILL"));
    const [line] = (await once(child.stdout!, "data")) as [Buffer];
    const owner = Number(line.toString().trim());
    assert.ok(owner > 0);
    const locks = database.adapter.ownerLocks;
    const never = (await jobStore(database).start("scheduler")) + 1000; // a job nobody holds
    assert.deepEqual(await locks.free(database.db as never, [owner, never]), [never]);

    const killedAt = Date.now();
    child.kill("SIGKILL");
    await exited;
    let free: number[] = [];
    while (Date.now() - killedAt < 5_000) {
      free = await locks.free(database.db as never, [owner]);
      if (free.length > 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const seenAfter = Date.now() - killedAt;
    assert.deepEqual(free, [owner]);
    assert.ok(seenAfter < 1_000, `the dead owner's lock was seen free after ${seenAfter} ms`);
  });

  test("a holder whose lock connection is cut takes its lock again", async (t) => {
    const database = get();
    if (database.adapter.name === "sqlite") return t.skip("SQLite holds no connection for its lock");
    const owner = await jobStore(database).start("scheduler");
    const held = await database.adapter.ownerLocks.hold(owner);
    try {
      const first = held.heldSince();
      assert.notEqual(first, null);
      await cutLockConnection(database, owner);
      const until = Date.now() + 10_000;
      while (Date.now() < until && (held.heldSince() === null || held.heldSince() === first))
        await new Promise((r) => setTimeout(r, 25));
      assert.ok(held.heldSince()! > first!, "the lock was taken again on a new connection");
      assert.deepEqual(await database.adapter.ownerLocks.free(database.db as never, [owner]), []);
    } finally {
      await held.release();
    }
    assert.deepEqual(await database.adapter.ownerLocks.free(database.db as never, [owner]), [owner]);
  });
});

/** Kills the server session that holds `owner`'s lock (as an administrator or a failover would). */
async function cutLockConnection(database: Database, owner: number) {
  const db = database.db as never;
  const { url, options } = openedAs(database);
  if (database.adapter.name === "postgres") {
    const namespace = postgresLockNamespace(url, options.postgresSchema);
    await sql`select pg_terminate_backend(pid) from pg_locks where locktype = 'advisory' and objsubid = 2
      and classid = ${namespace}::int::oid and objid = ${owner}::int::oid`.execute(db);
  } else {
    const holder = await sql<{ id: number }>`select IS_USED_LOCK(${mysqlLockName(url, owner)}) as id`.execute(
      db,
    );
    await sql`KILL CONNECTION ${sql.lit(Number(holder.rows[0]!.id))}`.execute(db);
  }
}
