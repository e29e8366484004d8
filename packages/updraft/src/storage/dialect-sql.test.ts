/** The SQL each dialect writes for lists at scale: composite keys IN a list, seconds between dates. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { sql } from "kysely";
import { forEachDatabase } from "../test-support/databases.ts";

forEachDatabase("dialect SQL for lists", (get) => {
  test("keysIn picks rows by composite key, however many keys", async () => {
    const { db, adapter } = get();
    await sql`create table kt (a varchar(20) not null, b varchar(20) not null, n integer not null)`.execute(
      db,
    );
    const rows = Array.from({ length: 300 }, (_, i) => ({ a: `a${i % 7}`, b: `b${i}`, n: i % 3 }));
    for (let i = 0; i < rows.length; i += 100)
      await sql`insert into kt (a, b, n) values ${sql.join(rows.slice(i, i + 100).map((r) => sql`(${r.a}, ${r.b}, ${r.n})`))}`.execute(
        db,
      );
    const wanted = rows.filter((_, i) => i % 2 === 0).map((r) => [r.a, r.b, r.n]);
    // Crosswise matches (a of one key, b of another) must not come back.
    const decoys = [
      ["a0", "b1", 0],
      ["a1", "b0", 0],
      ["a0", "b0", 2],
    ];
    const found = await sql<{
      a: string;
      b: string;
      n: number;
    }>`select a, b, n from kt where ${adapter.keysIn(
      ["a", "b", "n"],
      [...wanted, ...decoys],
      [false, false, true],
    )} order by b`.execute(db);
    assert.deepEqual(
      found.rows.map((r) => `${r.a}/${r.b}/${Number(r.n)}`).sort(),
      wanted.map((k) => k.join("/")).sort(),
    );
    await sql`drop table kt`.execute(db);
  });

  test("secondsBetween: seconds from one stored timestamp to another, NULL when either is", async () => {
    const { db, adapter } = get();
    const at = (a: string | null, b: string | null) =>
      sql<{ s: number | null }>`select ${adapter.secondsBetween(sql.val(a), sql.val(b))} as s`
        .execute(db)
        .then((r) => (r.rows[0]!.s === null ? null : Number(r.rows[0]!.s)));
    assert.equal(await at("2025-01-01T00:00:00.000Z", "2025-01-01T00:10:00.500Z"), 600.5);
    assert.equal(await at("2025-01-01T23:59:59.000Z", "2025-01-02T00:00:01.000Z"), 2);
    assert.equal(await at(null, "2025-01-01T00:00:00.000Z"), null);
  });
});
