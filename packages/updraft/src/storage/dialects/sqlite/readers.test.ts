/**
 * Reads off the main thread: a slow SELECT neither stops the event loop nor holds up writes, and
 * what a reader sees is what was committed (a transaction's own reads stay on its connection).
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { sql } from "kysely";
import { openDatabase, type Database } from "../../database.ts";
import { migrateDatabase } from "../../migrate.ts";
import { readOffThread } from "../../read-threads.ts";

async function withDatabase(run: (database: Database) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "updraft-readers-"));
  const database = openDatabase(`sqlite:///${join(dir, "readers.db")}`);
  try {
    await migrateDatabase(database);
    await readOffThread(() => run(database));
  } finally {
    await database.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const variable = (key: string) => ({ key, val: "v", description: null, is_encrypted: 0 });

test("a slow SELECT runs off the main thread: the event loop keeps turning and writes go on", async () =>
  withDatabase(async (database) => {
    await database.db.insertInto("variable").values(variable("seed")).execute();
    // A SELECT that takes a while: three million rows of a recursive count, summed.
    const slow = database.db
      .selectFrom(
        sql<{
          n: number;
        }>`(with recursive c(n) as (select 1 union all select n + 1 from c where n < 3000000) select n from c)`.as(
          "c",
        ),
      )
      .select(sql<number>`sum(n)`.as("total"))
      .executeTakeFirstOrThrow();
    let longest = 0;
    let last = performance.now();
    const ticker = setInterval(() => {
      const now = performance.now();
      longest = Math.max(longest, now - last);
      last = now;
    }, 5);
    const startedAt = performance.now();
    await database.db.insertInto("variable").values(variable("during")).execute();
    const wroteAfter = performance.now() - startedAt;
    const { total } = await slow;
    const readFor = performance.now() - startedAt;
    clearInterval(ticker);
    assert.equal(Number(total), (3000000 * 3000001) / 2);
    console.log(
      `# slow read ${readFor.toFixed(0)} ms; a write during it ${wroteAfter.toFixed(1)} ms; longest loop gap ${longest.toFixed(1)} ms`,
    );
    assert.ok(readFor > 200, `the read was slow enough to tell (${readFor} ms)`);
    assert.ok(wroteAfter < readFor / 2, "the write did not wait for the read");
    assert.ok(longest < readFor / 2, `the event loop stopped for ${longest} ms of a ${readFor} ms read`);
  }));

test("readers see what is committed; a transaction reads its own writes; errors come back as errors", async () =>
  withDatabase(async (database) => {
    const keys = async (db: Pick<Database["db"], "selectFrom"> = database.db) =>
      (await db.selectFrom("variable").select("key").orderBy("key").execute()).map((r) => r.key);
    await database.db.insertInto("variable").values(variable("a")).execute();
    assert.deepEqual(await keys(), ["a"], "a read right after a write sees it");
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let inside: string[] = [];
    const trx = database.db.transaction().execute(async (t) => {
      await t.insertInto("variable").values(variable("b")).execute();
      inside = await keys(t);
      await held;
    });
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(inside, ["a", "b"], "the transaction reads its own write");
    assert.deepEqual(await keys(), ["a"], "others do not see it before the commit");
    release();
    await trx;
    assert.deepEqual(await keys(), ["a", "b"]);
    await assert.rejects(
      sql`select 1`.execute(database.db).then(() =>
        database.db
          .selectFrom("variable")
          .select(sql`no_such_column`.as("x"))
          .execute(),
      ),
      /no such column: no_such_column/,
    );
  }));
