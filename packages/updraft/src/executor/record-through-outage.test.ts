/**
 * The task runner through database outages, on a real PostgreSQL and MariaDB behind a TCP proxy that
 * drops every connection and refuses new ones: a result recorded while the database is away is kept
 * (retried until it answers), and a try whose start meets an outage starts once it is back instead of
 * leaving its task instance queued for ever.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { SerializedDag } from "../core/serialized.ts";
import { dagRunStore } from "../storage/dag-runs.ts";
import { openDatabase, type Database } from "../storage/database.ts";
import { jobStore } from "../storage/jobs.ts";
import { taskInstanceStore } from "../storage/task-instances.ts";
import { forEachDatabase, openedAs } from "../test-support/databases.ts";
import { startFaultProxy, type FaultProxy } from "../test-support/fault-proxy.ts";
import { serializedDag, serializedTask } from "../test-support/serialized.ts";
import { runTaskInstance, type TaskRunnerDeps } from "./run-task-instance.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function dagOf(command: string): SerializedDag {
  return serializedDag("outage", [serializedTask("work", [], { kind: "bash", templateFields: { command } })]);
}

forEachDatabase(
  "the task runner through a database outage",
  (get) => {
    let proxy: FaultProxy;
    let proxied: Database;
    before(async () => {
      const { url, options } = openedAs(get());
      const u = new URL(url);
      proxy = await startFaultProxy({ host: u.hostname, port: Number(u.port) });
      proxied = openDatabase(proxy.url(url), { ...options, poolSize: 2 });
    });
    after(async () => {
      await proxied.close();
      await proxy.close();
    });

    /** A queued task instance of a fresh run, claimed by a scheduler job; and runner deps over the proxy. */
    async function prepare(runId: string, command: string) {
      const database = get();
      const dag = dagOf(command);
      const at = "2025-01-01T00:00:00.000Z";
      await dagRunStore(database).create({
        dag,
        runId,
        runType: "manual",
        logicalDate: at,
        dataIntervalStart: at,
        dataIntervalEnd: at,
        runAfter: at,
        conf: {},
      });
      const owner = await jobStore(database).start("scheduler");
      const tis = taskInstanceStore(database);
      const key = { dagId: "outage", runId, taskId: "work", mapIndex: -1 };
      assert.ok(await tis.transition(key, "none", "scheduled"));
      assert.ok(await tis.transition(key, "scheduled", "queued", { claimed_by_job_id: owner }));
      const ti = (await tis.get(key))!;
      let log = "";
      const deps: TaskRunnerDeps = {
        database: proxied,
        taskflow: undefined as never, // bash only
        resolveFile: (f) => f,
        loadDag: async () => dag,
        loadRun: (id) =>
          proxied.db.selectFrom("dag_run").selectAll().where("id", "=", id).executeTakeFirstOrThrow(),
        fileVersion: async () => "0",
        render: async ({ task }) => ({ fields: { ...task.templateFields }, context: {} }),
        openLog: async () => ({
          write: (chunk) => void (log += chunk.toString()),
          close: async () => undefined,
        }),
        xcomMaxSize: 1_000_000,
        recordRetryMs: 60_000,
      };
      const claimed = { ...key, dagRunId: ti.dag_run_id, tryNumber: 0, pool: ti.pool, owner };
      return { deps, claimed, key, tis, log: () => log };
    }

    test("a result recorded while the database is away is kept once it is back", async () => {
      const started = join(mkdtempSync(join(tmpdir(), "updraft-outage-")), "started");
      const { deps, claimed, key, tis } = await prepare("record", `touch ${started}; sleep 1.5; echo done`);
      const running = runTaskInstance(deps, claimed, new AbortController().signal);
      while (!existsSync(started)) await sleep(20);
      proxy.cut(); // the command is running: its result will meet the outage
      await sleep(5_000);
      assert.equal((await tis.get(key))?.state, "running", "nothing recorded during the outage");
      proxy.restore();
      await running;
      const ti = await tis.get(key);
      assert.deepEqual([ti?.state, ti?.try_number], ["success", 1]);
    });

    test("a try whose start meets an outage starts when the database is back", async () => {
      const { deps, claimed, key, tis } = await prepare("start", "echo started");
      proxy.cut(3_000);
      await runTaskInstance(deps, claimed, new AbortController().signal);
      const ti = await tis.get(key);
      assert.deepEqual([ti?.state, ti?.try_number], ["success", 1]);
    });
  },
  { only: ["postgres", "mysql"] },
);
