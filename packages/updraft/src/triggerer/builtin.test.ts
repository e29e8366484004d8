/**
 * The built-in triggers against real things: files on disk, an HTTP server, a SQLite database through
 * a connection, and the metadata database's runs and task instances.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { createServer } from "node:http";
import { DatabaseSync } from "node:sqlite";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { Connection } from "../connections/uri.ts";
import { createLogger } from "../logging.ts";
import type { JsonValue } from "../sdk/json.ts";
import {
  dagRunTrigger,
  externalTaskTrigger,
  fileTrigger,
  httpTrigger,
  sqlTrigger,
  dateTimeTrigger,
  type Trigger,
} from "../sdk/triggers.ts";
import { forEachDatabase } from "../test-support/databases.ts";
import { scheduledRun } from "../test-support/runs.ts";
import type { Database } from "../storage/database.ts";
import { BUILTIN, type BuiltinContext } from "./builtin.ts";
import { TimerHeap } from "./timers.ts";

const log = createLogger("test", "silent");

function context(database: Database, connections: Record<string, Connection> = {}): BuiltinContext {
  return { database, timers: new TimerHeap(), log, connection: async (id) => connections[id] };
}

/** Runs a trigger; `signal` stops it. */
function run(
  trigger: Trigger,
  ctx: BuiltinContext,
  signal = new AbortController().signal,
): Promise<JsonValue> {
  const { classpath, kwargs } = trigger.serialize();
  return BUILTIN[classpath]!(kwargs, ctx, signal);
}

const conn = (o: Partial<Connection> & { connId: string; connType: string }): Connection => ({
  description: null,
  host: null,
  login: null,
  password: null,
  schema: null,
  port: null,
  extra: null,
  ...o,
});

forEachDatabase("built-in triggers", (get) => {
  test("DateTimeTrigger fires at its moment with the moment; a past one at once", async () => {
    const ctx = context(get());
    const moment = new Date(Date.now() + 150).toISOString();
    const began = Date.now();
    assert.equal(await run(dateTimeTrigger(moment), ctx), moment);
    assert.ok(Date.now() - began >= 140);
    assert.equal(await run(dateTimeTrigger("2020-01-01T00:00:00Z"), ctx), "2020-01-01T00:00:00.000Z");
  });

  test("FileTrigger fires when a path or a glob matches a file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "updraft-file-trigger-"));
    try {
      const ctx = context(get());
      const plain = run(fileTrigger({ filepath: join(dir, "done.flag"), pokeInterval: 0.05 }), ctx);
      const globbed = run(
        fileTrigger({ filepath: join(dir, "**", "*.csv"), recursive: true, pokeInterval: 0.05 }),
        ctx,
      );
      await new Promise((r) => setTimeout(r, 120));
      writeFileSync(join(dir, "done.flag"), "");
      mkdirSync(join(dir, "a", "b"), { recursive: true });
      writeFileSync(join(dir, "a", "b", "x.csv"), "1");
      assert.deepEqual(await plain, { filepath: join(dir, "done.flag") });
      assert.deepEqual(await globbed, { filepath: join(dir, "a", "b", "x.csv") });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("HttpTrigger polls until 2xx, with the connection's host and basic auth", async () => {
    let calls = 0;
    let auth = "";
    const server = createServer((req, res) => {
      calls++;
      auth = req.headers.authorization ?? "";
      res.statusCode = calls < 3 ? 404 : 200;
      res.end(calls < 3 ? "not yet" : `ready ${req.url}`);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    try {
      const ctx = context(get(), {
        api: conn({ connId: "api", connType: "http", host: "127.0.0.1", port, login: "u", password: "p" }),
      });
      const event = await run(
        httpTrigger({ httpConnId: "api", endpoint: "/status", pokeInterval: 0.05 }),
        ctx,
      );
      assert.deepEqual(event, { status: 200, body: "ready /status" });
      assert.equal(auth, `Basic ${Buffer.from("u:p").toString("base64")}`);
      await assert.rejects(run(httpTrigger({ httpConnId: "nope" }), ctx), /connection "nope" does not exist/);
    } finally {
      server.close();
    }
  });

  test("SqlTrigger fires when the first cell is truthy (a sqlite connection)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "updraft-sql-trigger-"));
    try {
      const file = join(dir, "flags.db");
      const db = new DatabaseSync(file);
      db.exec("create table flags (ready integer); insert into flags values (0);");
      const ctx = context(get(), { flags: conn({ connId: "flags", connType: "sqlite", host: file }) });
      const pending = run(
        sqlTrigger({ connId: "flags", sql: "select ready from flags", pokeInterval: 0.05 }),
        ctx,
      );
      await new Promise((r) => setTimeout(r, 120));
      db.exec("update flags set ready = 1");
      db.close();
      assert.deepEqual(await pending, { row: { ready: 1 } });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("ExternalTaskTrigger and DagRunTrigger read the metadata database", async () => {
    const database = get();
    await scheduledRun(database, "upstream_dag", 1);
    const ctx = context(database);
    const abort = new AbortController();
    const task = run(
      externalTaskTrigger({
        externalDagId: "upstream_dag",
        externalTaskId: "t0",
        logicalDate: "2025-01-01T00:00:00Z",
        pokeInterval: 0.05,
      }),
      ctx,
    );
    const dagRun = run(
      dagRunTrigger({ dagId: "upstream_dag", runId: "r", states: ["success"], pokeInterval: 0.05 }),
      ctx,
    );
    const failed = run(
      externalTaskTrigger({
        externalDagId: "upstream_dag",
        logicalDate: "2025-01-01T00:00:00Z",
        failedStates: ["failed"],
        pokeInterval: 0.05,
      }),
      ctx,
      abort.signal,
    );
    await new Promise((r) => setTimeout(r, 120));
    await database.db
      .updateTable("task_instance")
      .set({ state: "success" })
      .where("dag_id", "=", "upstream_dag")
      .execute();
    assert.deepEqual(await task, { status: "success" });
    abort.abort(new Error("enough"));
    await assert.rejects(failed, /enough|abort/i, "an aborted trigger stops polling");
    await database.db
      .updateTable("dag_run")
      .set({ state: "success" })
      .where("dag_id", "=", "upstream_dag")
      .execute();
    assert.deepEqual(await dagRun, { state: "success" });
  });
});
