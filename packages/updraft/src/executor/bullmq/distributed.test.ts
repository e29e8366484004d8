/**
 * Distributed execution with real processes: a private Redis (AOF on), `updraft scheduler`,
 * `updraft webserver` and `updraft worker`s whose homes hold no database URL and no key. Every
 * failure is a real one: kill -9 of a worker, of a scheduler, of the webserver, a Redis restart.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { triggerDagRun } from "../../operations/trigger-run.ts";
import { dagStore } from "../../storage/dags.ts";
import type { Database } from "../../storage/database.ts";
import { childUrl, forEachDatabase } from "../../test-support/databases.ts";
import { cluster, startRedis, type Cluster, type PrivateRedis } from "../../test-support/distributed.ts";
import { assertBuilt, until, updraft } from "../../test-support/service-process.ts";
import { readTaskLog, taskLogPath } from "../../logs/files.ts";
import { tryTokenKey, tryTokens } from "../../secrets/try-tokens.ts";
import { signingKey, tokenIssuer } from "../../api/auth/tokens.ts";

assertBuilt();

const DIST_DAG = `import { dag, task, bash, getVariable, getConnection, setVariable } from "updraft";
export default dag({ dagId: "dist", schedule: null }, () => {
  const hello = bash("hello", { command: 'echo "secret={{ var.value.api_password }}"' });
  const special = bash("special", { command: "echo special queue", queue: "special" });
  const make = task("make", async () => {
    const v = await getVariable("api_password");
    const c = await getConnection("warehouse");
    console.log("variable", v, "password", c.password);
    await setVariable("made_on", "a worker");
    return { n: 42, host: c.host };
  });
  const after = task("after", async (x: { n: number; host: string | null }) => \`\${x.host}:\${x.n + 1}:\${await getVariable("made_on")}\`);
  const made = make();
  hello.before(made);
  special.before(made);
  after(made);
});
`;

/** A long task (its process id written to a file) that may retry, and a few short ones. */
const SLOW_DAG = (dir: string, dagId: string) => `import { dag, bash } from "updraft";
export default dag({ dagId: "${dagId}", schedule: null, defaultArgs: { retries: 1, retryDelay: "0s" } }, () => {
  bash("long", { command: 'echo $$ > ${dir}/long-$UPDRAFT_CTX_TRY_NUMBER.pid; echo started; sleep 6; echo finished' });
});
`;

const SWARM_DAG = `import { dag, bash } from "updraft";
export default dag({ dagId: "swarm", schedule: null, maxActiveTasks: 64 }, () => {
  for (let i = 0; i < 24; i++) bash("t" + i, { command: "sleep 0.3; echo done " + i });
});
`;

async function tis(database: Database, dagId: string) {
  return database.db
    .selectFrom("task_instance")
    .select(["task_id", "state", "try_number", "hostname"])
    .where("dag_id", "=", dagId)
    .orderBy("task_id")
    .execute();
}

async function runState(database: Database, runId: string): Promise<string | undefined> {
  const row = await database.db
    .selectFrom("dag_run")
    .select("state")
    .where("run_id", "=", runId)
    .executeTakeFirst();
  return row?.state ?? undefined;
}

async function waitForRun(database: Database, runId: string, ms: number, c?: Cluster): Promise<string> {
  try {
    return await until(
      `run ${runId} to end`,
      ms,
      async () => {
        const s = await runState(database, runId);
        return s === "success" || s === "failed" ? s : undefined;
      },
      100,
    );
  } catch (error) {
    const states = await database.db
      .selectFrom("task_instance")
      .select(["task_id", "state", "try_number"])
      .execute();
    throw new Error(
      `${(error as Error).message}\ntask instances: ${JSON.stringify(states)}\n${c?.tails() ?? ""}`,
      { cause: error },
    );
  }
}

async function parsed(database: Database, ...dagIds: string[]) {
  await until(
    `${dagIds.join(", ")} to be parsed`,
    60_000,
    async () => {
      for (const id of dagIds) if (!(await dagStore(database).get(id))) return undefined;
      return true;
    },
    100,
  );
}

let redis: PrivateRedis;
before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis?.stop();
});

/** Every cluster a test started is stopped, even when the test failed half-way. */
const clusters: Cluster[] = [];
function newCluster(...args: Parameters<typeof cluster>): Cluster {
  const made = cluster(...args);
  clusters.push(made);
  return made;
}
/** A test's body, after which every cluster it started is stopped (before its database is dropped). */
function stopping(body: () => Promise<void>): () => Promise<void> {
  return async () => {
    try {
      await body();
    } finally {
      for (const made of clusters.splice(0)) await made.stopAll();
    }
  };
}

forEachDatabase("distributed execution through BullMQ", (get) => {
  let c: Cluster;

  test(
    "workers without any credential run bash and TypeScript tasks, routed by queue, variables and connections through the execution API, logs on the webserver masked",
    stopping(async () => {
      const database = get();
      c = newCluster(childUrl(database), redis);
      writeFileSync(join(c.dags, "dist.ts"), DIST_DAG);
      assert.equal(
        (await updraft(["variables", "set", "api_password", "s3cr3t-value-1"], c.controlEnv)).code,
        0,
      );
      const added = await updraft(
        ["connections", "add", "warehouse", "--conn-uri", "postgres://loader:c0nn-pass-2@db.example:5432/wh"],
        c.controlEnv,
      );
      assert.equal(added.code, 0, added.stderr);
      const scheduler = c.startScheduler();
      await c.startWebserver();
      const w1 = await c.startWorker("worker-one");
      const w2 = await c.startWorker("worker-two", { queues: "special,default" });
      await parsed(database, "dist");
      await triggerDagRun(database, { dagId: "dist", runId: "r1" });
      assert.equal(await waitForRun(database, "r1", 60_000, c), "success");

      const rows = await tis(database, "dist");
      assert.deepEqual(
        rows.map((r) => [r.task_id, r.state, r.try_number]),
        [
          ["after", "success", 1],
          ["hello", "success", 1],
          ["make", "success", 1],
          ["special", "success", 1],
        ],
      );
      // The special queue is only worker-two's; every try names the worker that ran it.
      assert.equal(rows.find((r) => r.task_id === "special")!.hostname, "worker-two");
      for (const r of rows)
        assert.ok(["worker-one", "worker-two"].includes(r.hostname ?? ""), r.hostname ?? "");

      // The worker homes hold no configuration file at all (no key was ever written there).
      for (const w of [w1, w2]) assert.ok(w.alive());
      const logs = join(c.controlEnv.UPDRAFT_HOME!, "logs");
      const log = (task: string) =>
        readTaskLog(
          taskLogPath(logs, { dag_id: "dist", run_id: "r1", task_id: task, map_index: -1, try_number: 1 }),
          logs,
        ) ?? "";
      assert.match(log("hello"), /secret=\*\*\*/);
      assert.match(log("make"), /variable \*\*\* password \*\*\*/);
      assert.match(log("after"), /try 1 ended: success/);
      for (const task of ["hello", "make", "special", "after"]) {
        assert.doesNotMatch(log(task), /s3cr3t-value-1|c0nn-pass-2/);
        assert.match(log(task), /on worker-(one|two)/);
      }
      const xcom = await database.db
        .selectFrom("xcom")
        .select("value")
        .where("task_id", "=", "after")
        .executeTakeFirstOrThrow();
      // A variable the TypeScript task wrote on its worker (setVariable, through the execution API).
      assert.equal(JSON.parse(xcom.value!), "db.example:43:a worker");
      assert.ok(scheduler.alive());

      // What the API, health and metrics say of the workers (read from Redis by the webserver).
      const created = await updraft(
        ["users", "create", "-u", "admin", "-r", "Admin", "--random-password"],
        c.controlEnv,
      );
      assert.equal(created.code, 0, created.stderr);
      const token = await tokenIssuer(signingKey(c.secretKey(), ""), 3600).issue({
        username: "admin",
        role: "Admin",
        version: 0,
      });
      const auth = { authorization: `Bearer ${token}` };
      const listed = (await (await fetch(`${c.apiUrl}/api/v2/workers`, { headers: auth })).json()) as {
        executor: string;
        workers: { hostname: string; alive: boolean; queues: string[]; state: string }[];
        queues: { queue: string }[];
      };
      assert.equal(listed.executor, "bullmq");
      assert.deepEqual(
        listed.workers.map((w) => [w.hostname, w.alive, w.state, w.queues]),
        [
          ["worker-one", true, "running", ["default"]],
          ["worker-two", true, "running", ["special", "default"]],
        ],
      );
      assert.deepEqual(
        listed.queues.map((q) => q.queue),
        ["default", "special"],
      );
      const health = (await (await fetch(`${c.apiUrl}/api/v2/monitor/health`)).json()) as {
        executor: { name: string; status: string; workers_alive: number };
      };
      assert.deepEqual(health.executor, {
        name: "bullmq",
        status: "healthy",
        redis: "healthy",
        workers_alive: 2,
      });
      const metrics = await (await fetch(`${c.apiUrl}/metrics`)).text();
      assert.match(metrics, /updraft_workers\{kind="alive"[^}]*\} 2/);
      assert.match(metrics, /updraft_bullmq_queue_jobs\{queue="special",state="waiting"[^}]*\} 0/);
    }),
  );
});

forEachDatabase(
  "distributed execution survives failures",
  (get) => {
    let c: Cluster;

    test(
      "a worker killed with kill -9: its task's process dies with it, the try is retried on another worker, the dead try's token is refused",
      stopping(async () => {
        const database = get();
        c = newCluster(childUrl(database), redis, { workerTimeout: 10 }); // the default
        const pids = c.dags; // pid files go next to the DAGs (a folder both sides can read in this test)
        writeFileSync(join(c.dags, "slow_k.ts"), SLOW_DAG(pids, "slow_k"));
        c.startScheduler();
        await c.startWebserver();
        const first = await c.startWorker("first");
        await parsed(database, "slow_k");
        await triggerDagRun(database, { dagId: "slow_k", runId: "k1" });
        const pidFile = join(pids, "long-1.pid");
        await until(
          "the task to start on the first worker",
          30_000,
          async () => (existsSync(pidFile) ? true : undefined),
          50,
        );
        const taskPid = Number(readFileSync(pidFile, "utf8").trim());
        assert.ok(isAlive(taskPid));
        const second = await c.startWorker("second");
        const killedAt = Date.now();
        process.kill(first.child.pid!, "SIGKILL"); // the worker alone, not its group: the lifeline must act
        await until(
          "the task's process to die with its worker",
          5_000,
          async () => (isAlive(taskPid) ? undefined : true),
          20,
        );
        const retried = await until(
          "try 2 to run on the second worker",
          30_000,
          async () => {
            const [ti] = await tis(database, "slow_k");
            return ti && ti.try_number === 2 && ti.state === "running" ? ti : undefined;
          },
          100,
        );
        const recoverySeconds = (Date.now() - killedAt) / 1000;
        console.log(`# try 2 running ${recoverySeconds.toFixed(1)} s after the kill`);
        assert.equal(retried.hostname, "second");
        assert.ok(recoverySeconds < 30, `retried after ${recoverySeconds} s`);
        // The dead try's token (as its job carried it) is refused now: 409, the try is not running.
        const token = await tryTokens(tryTokenKey(c.secretKey(), ""), 600).issue({
          dagId: "slow_k",
          runId: "k1",
          taskId: "long",
          mapIndex: -1,
          tryNumber: 1,
        });
        const late = await fetch(`${c.apiUrl}/execution/task-instances/slow_k/k1/long/-1/heartbeat`, {
          method: "PUT",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify({ hostname: "first" }),
        });
        assert.equal(late.status, 409);
        const lateResult = await fetch(`${c.apiUrl}/execution/task-instances/slow_k/k1/long/-1/state`, {
          method: "PATCH",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify({ state: "success" }),
        });
        assert.equal(lateResult.status, 409, "a late result of the dead try is refused");
        const lateWrite = await fetch(`${c.apiUrl}/execution/variables/late_write`, {
          method: "PUT",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify({ value: "from the dead try" }),
        });
        assert.equal(lateWrite.status, 409, "a variable write of the dead try is refused");
        const written = await database.db
          .selectFrom("variable")
          .select("key")
          .where("key", "=", "late_write");
        assert.equal(await written.executeTakeFirst(), undefined);
        assert.equal(await waitForRun(database, "k1", 60_000, c), "success");
        const [ti] = await tis(database, "slow_k");
        assert.equal(ti!.try_number, 2);
        assert.ok(second.alive());
        await c.stopAll();
      }),
    );

    test(
      "a worker stopped with SIGTERM hands its running try back after the grace period (no retry used); a task cleared while running is stopped on its worker and runs again",
      stopping(async () => {
        const database = get();
        c = newCluster(childUrl(database), redis);
        writeFileSync(join(c.dags, "slow_g.ts"), SLOW_DAG(c.dags, "slow_g"));
        c.startScheduler();
        await c.startWebserver();
        const leaving = await c.startWorker("leaving", {
          env: { UPDRAFT__SCHEDULER__GRACEFUL_SHUTDOWN_TIMEOUT: "1" },
        });
        await parsed(database, "slow_g");
        await triggerDagRun(database, { dagId: "slow_g", runId: "g1" });
        await until(
          "the task to start",
          30_000,
          async () => (existsSync(join(c.dags, "long-1.pid")) ? true : undefined),
          50,
        );
        const staying = await c.startWorker("staying");
        assert.equal(await leaving.stop(20_000), 0, "the worker exits cleanly");
        assert.ok(leaving.lines.some((l) => /handing running tries back/.test(l.msg)));
        const handed = await until(
          "try 2 to run on the other worker",
          30_000,
          async () => {
            const ti = await database.db
              .selectFrom("task_instance")
              .selectAll()
              .where("dag_id", "=", "slow_g")
              .executeTakeFirst();
            return ti && ti.try_number === 2 && ti.state === "running" ? ti : undefined;
          },
          100,
        );
        assert.equal(handed.hostname, "staying");
        assert.equal(handed.max_tries, 2, "the handed-back try used no retry (one more try allowed)");

        // Cleared while it runs: the worker's next heartbeat is refused, it stops the try, and it runs again.
        await until(
          "try 2 to write its pid",
          10_000,
          async () => (existsSync(join(c.dags, "long-2.pid")) ? true : undefined),
          50,
        );
        const pid2 = Number(readFileSync(join(c.dags, "long-2.pid"), "utf8").trim());
        const { clearTaskInstances } = await import("../../operations/clear.ts");
        await clearTaskInstances(database, { dagId: "slow_g", runId: "g1" });
        await until(
          "the cleared try's process to be stopped",
          15_000,
          async () => (isAlive(pid2) ? undefined : true),
          100,
        );
        assert.equal(await waitForRun(database, "g1", 60_000, c), "success");
        const [ti] = await tis(database, "slow_g");
        assert.equal(ti!.try_number, 3);
        assert.ok(staying.lines.some((l) => /no longer owns its task instance: stopping it/.test(l.msg)));
        await c.stopAll();
      }),
    );

    test(
      "Redis restarted mid-run (AOF): nothing is lost, and the scheduler and workers reconnect without exiting",
      stopping(async () => {
        const database = get();
        c = newCluster(childUrl(database), redis);
        writeFileSync(join(c.dags, "swarm.ts"), SWARM_DAG);
        const scheduler = c.startScheduler();
        await c.startWebserver();
        const w1 = await c.startWorker("a", { concurrency: 3 });
        const w2 = await c.startWorker("b", { concurrency: 3 });
        await parsed(database, "swarm");
        await triggerDagRun(database, { dagId: "swarm", runId: "s1" });
        await until(
          "some tasks to finish",
          30_000,
          async () => {
            const done = (await tis(database, "swarm")).filter((t) => t.state === "success").length;
            return done >= 3 ? true : undefined;
          },
          50,
        );
        await redis.restart(1_500);
        assert.equal(await waitForRun(database, "s1", 90_000, c), "success");
        const rows = await tis(database, "swarm");
        assert.equal(rows.filter((r) => r.state === "success").length, 24);
        assert.ok(scheduler.alive() && w1.alive() && w2.alive(), "no process exited");
        await c.stopAll();
      }),
    );

    test(
      "the webserver restarted mid-run: the worker retries its calls and the result and log are kept",
      stopping(async () => {
        const database = get();
        c = newCluster(childUrl(database), redis);
        writeFileSync(join(c.dags, "slow_w.ts"), SLOW_DAG(c.dags, "slow_w"));
        c.startScheduler();
        const web = await c.startWebserver();
        await c.startWorker("w");
        await parsed(database, "slow_w");
        await triggerDagRun(database, { dagId: "slow_w", runId: "w1" });
        await until(
          "the task to start",
          30_000,
          async () => (existsSync(join(c.dags, "long-1.pid")) ? true : undefined),
          50,
        );
        process.kill(web.child.pid!, "SIGKILL");
        await new Promise((r) => setTimeout(r, 7_000)); // the task ends while the API is away
        await c.startWebserver();
        assert.equal(await waitForRun(database, "w1", 60_000, c), "success");
        const [ti] = await tis(database, "slow_w");
        assert.equal(ti!.try_number, 1, "the result was recorded, not retried");
        const logs = join(c.controlEnv.UPDRAFT_HOME!, "logs");
        const text =
          readTaskLog(
            taskLogPath(logs, {
              dag_id: "slow_w",
              run_id: "w1",
              task_id: "long",
              map_index: -1,
              try_number: 1,
            }),
            logs,
          ) ?? "";
        assert.match(text, /started/);
        assert.match(text, /finished/);
        await c.stopAll();
      }),
    );

    test(
      "a scheduler killed with kill -9: what it queued still runs and is recorded",
      stopping(async () => {
        const database = get();
        c = newCluster(childUrl(database), redis);
        writeFileSync(join(c.dags, "slow_x.ts"), SLOW_DAG(c.dags, "slow_x"));
        const scheduler = c.startScheduler();
        await c.startWebserver();
        await c.startWorker("w");
        await parsed(database, "slow_x");
        await triggerDagRun(database, { dagId: "slow_x", runId: "x1" });
        await until(
          "the task to start",
          30_000,
          async () => (existsSync(join(c.dags, "long-1.pid")) ? true : undefined),
          50,
        );
        process.kill(-scheduler.child.pid!, "SIGKILL");
        await until(
          "the try to be recorded with no scheduler running",
          30_000,
          async () => {
            const [ti] = await tis(database, "slow_x");
            return ti?.state === "success" ? ti : undefined;
          },
          100,
        );
        const [ti] = await tis(database, "slow_x");
        assert.equal(ti!.try_number, 1);
        c.startScheduler(); // a scheduler finishes the run
        assert.equal(await waitForRun(database, "x1", 60_000, c), "success");
        await c.stopAll();
      }),
    );
  },
  { only: ["postgres", "mysql"] },
);

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const CROSS_DAGS = {
  "xparent.ts": `import { dag, triggerDagRun } from "updraft";
export default dag({ dagId: "xparent", schedule: null }, () => {
  const go = triggerDagRun("go", { dagId: "xchild", triggerRunId: "x_{{ run_id }}", conf: { n: 7 }, waitForCompletion: true, pokeInterval: "500ms" });
  go.before(triggerDagRun("dup", { dagId: "xchild", triggerRunId: "x_{{ run_id }}" }));
});
`,
  "xchild.ts": `import { dag, bash } from "updraft";
export default dag({ dagId: "xchild", schedule: null }, () => {
  bash("work", { command: "echo n={{ dag_run.conf.n }}" });
});
`,
};

forEachDatabase(
  "triggerDagRun on a worker",
  (get) => {
    test(
      "a worker triggers a run through the execution API, waits for it, and an existing run id fails with the reason",
      stopping(async () => {
        const database = get();
        const c = newCluster(childUrl(database), redis);
        for (const [name, source] of Object.entries(CROSS_DAGS)) writeFileSync(join(c.dags, name), source);
        c.startScheduler();
        await c.startWebserver();
        await c.startWorker("worker-x");
        await parsed(database, "xparent", "xchild");
        await triggerDagRun(database, { dagId: "xparent", runId: "p1" });
        assert.equal(await waitForRun(database, "p1", 60_000, c), "failed");
        assert.deepEqual(
          (await tis(database, "xparent")).map((r) => [r.task_id, r.state, r.hostname]),
          [
            ["dup", "failed", "worker-x"],
            ["go", "success", "worker-x"],
          ],
        );
        assert.equal(await runState(database, "x_p1"), "success");
        const logs = join(c.controlEnv.UPDRAFT_HOME!, "logs");
        const log = (dagId: string, runId: string, task: string) =>
          readTaskLog(
            taskLogPath(logs, { dag_id: dagId, run_id: runId, task_id: task, map_index: -1, try_number: 1 }),
            logs,
          ) ?? "";
        assert.match(log("xchild", "x_p1", "work"), /n=7/);
        assert.match(log("xparent", "p1", "go"), /it is success/);
        assert.match(log("xparent", "p1", "dup"), /dag "xchild" already has a run "x_p1"/);
        const pushed = await database.db
          .selectFrom("xcom")
          .select(["task_id", "key", "value"])
          .where("dag_id", "=", "xparent")
          .where("key", "=", "trigger_run_id")
          .execute();
        assert.deepEqual(
          pushed.map((x) => [x.task_id, JSON.parse(x.value!)]).sort(),
          [["go", "x_p1"]],
          "pushed as soon as the run exists; dup created none",
        );
      }),
    );
  },
  { only: ["sqlite"] },
);

const CALLBACK_DAG = (out: string) => `import { appendFileSync } from "node:fs";
import { dag, task, bash, getConnection } from "updraft";
const note = (cb) => async (ctx) => {
  const c = cb === "success" ? await getConnection("warehouse") : null;
  appendFileSync(${JSON.stringify(out)}, [cb, ctx.ti.task_id, ctx.ti.try_number, ctx.exception?.message ?? "-", c?.host ?? "-"].join(" ") + "\\n");
};
export default dag({ dagId: "wcb", schedule: null }, () => {
  task("ok", () => 1, { onExecute: note("execute"), onSuccess: note("success") })();
  task("bad", () => { throw new Error("nope"); }, { retries: 1, retryDelay: "0s", onRetry: note("retry"), onFailure: note("failure") })();
  bash("sh", { command: "exit 99", onSkipped: note("skipped") });
});
`;

forEachDatabase(
  "task callbacks on a worker",
  (get) => {
    test(
      "a worker runs a try's callbacks once its result is recorded; they read connections through the execution API",
      stopping(async () => {
        const database = get();
        const c = newCluster(childUrl(database), redis);
        const out = join(c.dags, "..", "callbacks.txt");
        writeFileSync(join(c.dags, "wcb.ts"), CALLBACK_DAG(out));
        const added = await updraft(
          ["connections", "add", "warehouse", "--conn-uri", "postgres://u:p@wh.example:5432/wh"],
          c.controlEnv,
        );
        assert.equal(added.code, 0, added.stderr);
        c.startScheduler();
        await c.startWebserver();
        await c.startWorker("worker-cb");
        await parsed(database, "wcb");
        await triggerDagRun(database, { dagId: "wcb", runId: "c1" });
        assert.equal(await waitForRun(database, "c1", 60_000, c), "failed");
        const lines = await until(
          "the callbacks to run",
          20_000,
          async () => {
            const text = existsSync(out) ? readFileSync(out, "utf8").trim().split("\n").sort() : [];
            return text.length >= 5 ? text : undefined;
          },
          100,
        );
        assert.deepEqual(lines, [
          "execute ok 1 - -",
          "failure bad 2 nope -",
          "retry bad 1 nope -",
          "skipped sh 1 - -",
          "success ok 1 - wh.example",
        ]);
      }),
    );
  },
  { only: ["sqlite"] },
);
