/** The PostgreSQL dialect keeps working when the server closes its idle connections. */
import assert from "node:assert/strict";
import { test } from "node:test";
import pg from "pg";
import { sql } from "kysely";
import { forEachDatabase, POSTGRES_URL } from "../../../test-support/databases.ts";

forEachDatabase(
  "PostgreSQL connections",
  (get) => {
    test("an idle connection terminated by the server is replaced, and the process carries on", async () => {
      const database = get();
      const pid = (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(database.db)).rows[0]!
        .pid;
      const admin = new pg.Client(POSTGRES_URL);
      await admin.connect();
      try {
        const ended = await admin.query("select pg_terminate_backend($1) as ok", [pid]);
        assert.equal(ended.rows[0].ok, true);
      } finally {
        await admin.end();
      }
      // Without an error listener on the pool, the terminated idle client's 'error' ends the process here.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const again = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(database.db);
      assert.notEqual(again.rows[0]!.pid, pid, "a new connection serves the next query");
    });
  },
  { only: ["postgres"] },
);
