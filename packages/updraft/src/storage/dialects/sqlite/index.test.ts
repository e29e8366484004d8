/** SQLite's one connection, shared in turn: concurrent queries and transactions never interleave. */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { sql } from "kysely";
import { openDatabase } from "../../database.ts";

test("a thousand concurrent queries and read-then-write transactions take turns in order", async () => {
  const dir = mkdtempSync(join(tmpdir(), "updraft-sqlite-"));
  const database = openDatabase(`sqlite:///${join(dir, "turns.db")}`);
  try {
    await sql`create table counter (n integer not null)`.execute(database.db);
    await sql`insert into counter (n) values (0)`.execute(database.db);
    const increments = Array.from({ length: 100 }, () =>
      database.db.transaction().execute(async (trx) => {
        const { rows } = await sql<{ n: number }>`select n from counter`.execute(trx);
        await new Promise((resolve) => setImmediate(resolve)); // others queue up meanwhile
        await sql`update counter set n = ${rows[0]!.n + 1}`.execute(trx);
      }),
    );
    const order: number[] = [];
    const reads = Array.from({ length: 1000 }, (_, i) =>
      sql`select ${i} as i`.execute(database.db).then(() => order.push(i)),
    );
    await Promise.all([...increments, ...reads]);
    const { rows } = await sql<{ n: number }>`select n from counter`.execute(database.db);
    assert.equal(rows[0]!.n, 100, "an increment was lost: two transactions interleaved");
    assert.deepEqual(
      order,
      [...order].sort((a, b) => a - b),
      "queries were served out of turn",
    );
  } finally {
    await database.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a busy connection's WAL is checkpointed by a worker thread, not inside its commits", async () => {
  const dir = mkdtempSync(join(tmpdir(), "updraft-sqlite-"));
  const database = openDatabase(`sqlite:///${join(dir, "wal.db")}`);
  try {
    await sql`create table t (n integer not null)`.execute(database.db);
    for (let i = 0; i < 600; i++) await sql`insert into t (n) values (${i})`.execute(database.db);
    const automatic = async () =>
      (await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(database.db)).rows[0]!
        .wal_autocheckpoint;
    for (let i = 0; i < 100 && (await automatic()) !== 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(await automatic(), 0, "the checkpointer did not take over");
    await database.close(); // waits for the worker's last checkpoint
    const reopened = openDatabase(`sqlite:///${join(dir, "wal.db")}`);
    const { rows } = await sql<{ n: number }>`select count(*) as n from t`.execute(reopened.db);
    await reopened.close();
    assert.equal(rows[0]!.n, 600);
  } finally {
    await database.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a checkpoint worker that failed does not stop the database from closing", async () => {
  const dir = mkdtempSync(join(tmpdir(), "updraft-sqlite-"));
  const path = join(dir, "gone.db");
  const database = openDatabase(`sqlite:///${path}`);
  try {
    await sql`create table t (n integer not null)`.execute(database.db);
    for (let i = 0; i < 400; i++) await sql`insert into t (n) values (${i})`.execute(database.db);
    // The connection keeps its open file; the worker, opening the path, finds a directory and fails.
    renameSync(path, join(dir, "moved.db"));
    mkdirSync(path);
    for (let i = 0; i < 200; i++) await sql`insert into t (n) values (${i})`.execute(database.db);
    await new Promise((r) => setTimeout(r, 500)); // the worker starts, fails and exits
    const closed = await Promise.race([
      database.close().then(() => "closed"),
      new Promise((r) => setTimeout(() => r("hung"), 5_000)),
    ]);
    assert.equal(closed, "closed", "close() waited for a worker that had already exited");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
