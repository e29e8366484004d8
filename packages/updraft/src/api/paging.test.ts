import assert from "node:assert/strict";
import { test } from "node:test";
import { forEachDatabase } from "../test-support/databases.ts";
import { countTotal } from "./paging.ts";

forEachDatabase("list totals", (get) => {
  test("exact up to 10,000 rows at every request; past that, the exact count is reused a few seconds", async () => {
    const { db } = get();
    const add = async (n: number, event: string) => {
      for (let i = 0; i < n; i += 1000)
        await db
          .insertInto("audit_log")
          .values(
            Array.from({ length: Math.min(1000, n - i) }, () => ({
              dttm: "2025-01-01T00:00:00.000Z",
              event,
              owner: "t",
            })),
          )
          .execute();
    };
    const all = () => db.selectFrom("audit_log").selectAll();
    const some = () => db.selectFrom("audit_log").selectAll().where("event", "=", "small");
    let now = 0;
    const total = (qb: ReturnType<typeof all>) => countTotal(db, qb, () => now);
    await add(7, "small");
    assert.equal(await total(some()), 7);
    await add(1, "small");
    assert.equal(await total(some()), 8, "a small total is exact at once");
    await add(10_050, "big");
    assert.equal(await total(all()), 10_058, "a large total is exact the first time");
    await add(5, "big");
    now = 5_000;
    assert.equal(await total(all()), 10_058, "and reused within 10 s");
    now = 11_000;
    await total(all()); // starts a recount in the background
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await total(all()), 10_063, "then counted again");
    assert.equal(await total(some()), 8, "other filters are their own");
  });
});
