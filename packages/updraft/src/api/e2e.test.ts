/**
 * End to end through a client generated from the specification (openapi-typescript types +
 * openapi-fetch) against a listening webserver and a running scheduler: trigger a run, poll it to
 * success, read a task's log, clear a task and see it run again, change a variable.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import createClient from "openapi-fetch";
import { pino } from "pino";
import { loadConfig } from "../config/load.ts";
import { processDagFiles } from "../dag-processing/processor.ts";
import { createScheduler } from "../scheduler/runtime.ts";
import { createCipher } from "../secrets/cipher.ts";
import type { Database } from "../storage/database.ts";
import { userStore } from "../storage/users.ts";
import { forEachDatabase } from "../test-support/databases.ts";
import { hashPassword } from "./auth/passwords.ts";
import type { paths } from "./generated/airflow-v2.ts";
import { startWebserver, type Webserver } from "./server.ts";

const DAG = `import { dag, bash, task } from "updraft";
export default dag({ dagId: "e2e", params: { who: "world" } }, () => {
  const greet = bash("greet", { command: "echo hello {{ params.who }} from {{ run_id }}" });
  const shout = task("shout", () => "HELLO")();
  greet.before(shout);
});`;

forEachDatabase(
  "API end to end with a generated client",
  (getDatabase) => {
    let home: string;
    let web: Webserver;
    let stopScheduler: () => Promise<void>;
    let client: ReturnType<typeof createClient<paths>>;
    let database: Database;

    before(async () => {
      database = getDatabase();
      home = mkdtempSync(join(tmpdir(), "updraft-e2e-"));
      mkdirSync(join(home, "dags"));
      writeFileSync(join(home, "dags", "e2e.ts"), DAG);
      const config = loadConfig({
        env: {
          UPDRAFT_HOME: home,
          UPDRAFT__CORE__LOAD_EXAMPLES: "false",
          UPDRAFT__CORE__DAGS_ARE_PAUSED_AT_CREATION: "false",
          UPDRAFT__LOGGING__COMPRESS_FINISHED: "false",
        },
      });
      await processDagFiles(config, database);
      const log = pino({ level: "silent" });
      const cipher = createCipher(config.values.security.encryption_key);
      await userStore(database).create({
        username: "ops",
        role: "Op",
        passwordHash: await hashPassword("s3cret!"),
      });
      web = await startWebserver({ config, database, log, cipher, port: 0, host: "127.0.0.1" });
      const { scheduler, close } = createScheduler({ config, database, log, cipher, loopIntervalMs: 100 });
      await scheduler.start();
      stopScheduler = async () => {
        await scheduler.stop();
        await close();
      };
      const token = await fetch(`${web.url}/auth/token`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username: "ops", password: "s3cret!" }),
      }).then((r) => r.json() as Promise<{ access_token: string }>);
      client = createClient<paths>({
        baseUrl: web.url,
        headers: { Authorization: `Bearer ${token.access_token}` },
      });
    });

    // Stopped by the test itself: the database's own after-hook (forEachDatabase) runs before ours.
    const stopAll = async () => {
      await stopScheduler?.();
      await web?.close();
    };
    after(() => rmSync(home, { recursive: true, force: true }));

    const waitForRun = async (runId: string, seconds = 60) => {
      for (let i = 0; i < seconds * 10; i++) {
        const { data } = await client.GET("/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}", {
          params: { path: { dag_id: "e2e", dag_run_id: runId } },
        });
        if (data && ["success", "failed"].includes(data.state)) return data;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error(`run ${runId} did not finish in ${seconds} s`);
    };

    test("trigger, poll to success, read the log, clear a task, change a variable", async (t) => {
      t.after(stopAll);
      const triggered = await client.POST("/api/v2/dags/{dag_id}/dagRuns", {
        params: { path: { dag_id: "e2e" } },
        body: { dag_run_id: "from_client", logical_date: null, conf: { who: "client" } },
      });
      assert.equal(triggered.response.status, 200, JSON.stringify(triggered.error));
      assert.equal(triggered.data!.dag_run_id, "from_client");
      const finished = await waitForRun("from_client");
      assert.equal(finished.state, "success");

      const logText = await client.GET(
        "/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/logs/{try_number}",
        {
          params: { path: { dag_id: "e2e", dag_run_id: "from_client", task_id: "greet", try_number: 1 } },
          headers: { accept: "application/json" },
        },
      );
      assert.equal(logText.response.status, 200);
      const lines = JSON.stringify(logText.data);
      assert.match(lines, /hello client from from_client/);

      const cleared = await client.POST("/api/v2/dags/{dag_id}/clearTaskInstances", {
        params: { path: { dag_id: "e2e" } },
        body: {
          dry_run: false,
          task_ids: ["shout"],
          dag_run_id: "from_client",
          only_failed: false,
          only_running: false,
          reset_dag_runs: true,
          include_upstream: false,
          include_downstream: false,
          include_future: false,
          include_past: false,
          run_on_latest_version: false,
          prevent_running_task: false,
        },
      });
      assert.equal(cleared.response.status, 200, JSON.stringify(cleared.error));
      assert.deepEqual(
        cleared.data!.task_instances.map((ti) => ti.task_id),
        ["shout"],
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal((await waitForRun("from_client")).state, "success");
      const tries = await client.GET("/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}", {
        params: { path: { dag_id: "e2e", dag_run_id: "from_client", task_id: "shout" } },
      });
      assert.equal(tries.data!.try_number, 2, "the cleared task ran a second time");

      const created = await client.POST("/api/v2/variables", { body: { key: "region", value: "eu" } });
      assert.equal(created.response.status, 201, JSON.stringify(created.error));
      const patched = await client.PATCH("/api/v2/variables/{variable_key}", {
        params: { path: { variable_key: "region" } },
        body: { key: "region", value: "us" },
      });
      assert.equal(patched.response.status, 200, JSON.stringify(patched.error));
      const read = await client.GET("/api/v2/variables/{variable_key}", {
        params: { path: { variable_key: "region" } },
      });
      assert.equal(read.data!.value, "us");
    });
  },
  { only: ["sqlite", "postgres"] },
);
