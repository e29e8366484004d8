/**
 * The API reads SQLite through reader threads: while the main connection is held (here, by a write
 * transaction that has not committed; in life, by the scheduler or a slow statement), a list still
 * answers at once, from what was committed.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { forEachApiDatabase } from "../test-support/api.ts";

forEachApiDatabase("API reads off the main connection", { allDatabases: false }, (get) => {
  test("a list answers while a transaction holds SQLite's one writing connection", async () => {
    const { database } = get();
    await database.db
      .insertInto("variable")
      .values({ key: "committed", val: "1", description: null, is_encrypted: 0 })
      .execute();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let inserted!: () => void;
    const written = new Promise<void>((resolve) => (inserted = resolve));
    const trx = database.db.transaction().execute(async (t) => {
      await t
        .insertInto("variable")
        .values({ key: "uncommitted", val: "2", description: null, is_encrypted: 0 })
        .execute();
      inserted();
      await held;
    });
    await written;
    try {
      const started = performance.now();
      const listed = await Promise.race([
        get().call("get_variables", { as: "Admin" }),
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error("the list waited for the transaction")), 3_000),
        ),
      ]);
      assert.equal(listed.status, 200);
      assert.deepEqual(
        listed.body.variables.map((v: { key: string }) => v.key),
        ["committed"],
        "the reader sees what was committed, not the open transaction's row",
      );
      console.log(
        `# answered in ${(performance.now() - started).toFixed(1)} ms while the connection was held`,
      );
    } finally {
      release();
      await trx;
    }
  });
});
