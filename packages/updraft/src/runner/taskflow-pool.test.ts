/** The TaskFlow pool with real worker processes and a real DAG file. */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { TaskFlowPool } from "./taskflow-pool.ts";

const DAG_FILE = `import { dag, task, SkipTask, FailTask, getCurrentContext } from "updraft";
let loads = (globalThis.__loads ?? 0) + 1; globalThis.__loads = loads;
export default dag({ dagId: "tf" }, () => {
  task("add", async (a: number, b: number) => { console.log("adding", a, b); return a + b; })(1, 2);
  task("pid", () => ({ pid: process.pid, loads: globalThis.__loads }))();
  task("ctx", () => getCurrentContext<{ ds: string }>().ds)();
  task("boom", () => { throw new Error("kaboom"); })();
  task("skip", () => { throw new SkipTask("nothing to do"); })();
  task("failnow", () => { throw new FailTask("bad input"); })();
  task("hog", () => { const keep: number[][] = []; for (;;) keep.push(new Array(1e6).fill(1)); })();
  task("slow", () => new Promise((r) => setTimeout(r, 60_000)))();
  task("exit", () => process.exit(4))();
  task("sleep", (ms: number) => new Promise((r) => setTimeout(() => r({ pid: process.pid, end: Date.now() }), ms)))(0);
  task("stamp", () => { console.log("stamp ran"); return { pid: process.pid, at: Date.now() }; })();
});
`;

const dir = mkdtempSync(join(tmpdir(), "updraft-tf-"));
const path = join(dir, "tf.ts");
writeFileSync(path, DAG_FILE);

function runner(pool: TaskFlowPool, logLines: string[]) {
  return (
    taskId: string,
    extra: {
      args?: unknown[];
      timeout?: number;
      memoryLimit?: number;
      context?: Record<string, unknown>;
      signal?: AbortSignal;
    } = {},
  ) =>
    pool.run({
      request: {
        path,
        version: "v1",
        dagId: "tf",
        taskId,
        args: extra.args ?? [],
        context: extra.context ?? {},
      },
      memoryLimit: extra.memoryLimit ?? null,
      timeout: extra.timeout ?? null,
      log: { write: (chunk, stream) => logLines.push(`${stream}:${taskId}:${chunk}`) },
      signal: extra.signal,
    });
}

describe("TaskFlow pool", () => {
  const pool = new TaskFlowPool({ maxWorkers: 2, defaultMemoryLimit: 128 });
  after(() => pool.close());
  const logLines: string[] = [];
  const run = runner(pool, logLines);

  test("runs a task with its arguments; its console output goes to the task's log", async () => {
    assert.deepEqual(await run("add", { args: [20, 22] }), { state: "success", value: 42 });
    assert.ok(logLines.includes("stdout:add:adding 20 22\n"), logLines.join(""));
  });

  test("reuses the worker and loads the DAG module once", async () => {
    const first = (await run("pid")) as { value: { pid: number; loads: number } };
    const second = (await run("pid")) as { value: { pid: number; loads: number } };
    assert.equal(first.value.pid, second.value.pid);
    assert.equal(second.value.loads, 1);
  });

  test("the task sees its context through getCurrentContext()", async () => {
    assert.deepEqual(await run("ctx", { context: { ds: "2025-03-04" } }), {
      state: "success",
      value: "2025-03-04",
    });
  });

  test("errors fail the task (retryable), SkipTask skips it, FailTask fails it without retries", async () => {
    assert.deepEqual(await run("boom"), { state: "failed", reason: "kaboom", retryable: true });
    assert.deepEqual(await run("skip"), { state: "skipped", reason: "nothing to do" });
    assert.deepEqual(await run("failnow"), { state: "failed", reason: "bad input", retryable: false });
  });

  test("a task over its memory limit fails alone with the reason; the pool carries on", async () => {
    const outcome = await run("hog", { memoryLimit: 64 });
    assert.equal(outcome.state, "failed");
    assert.match((outcome as { reason: string }).reason, /memory limit of 64 MiB exceeded/);
    assert.deepEqual(await run("add", { args: [1, 1] }), { state: "success", value: 2 });
  });

  test("a timeout and a process.exit fail the task and replace the worker", async () => {
    const slow = await run("slow", { timeout: 0.3 });
    assert.match((slow as { reason: string }).reason, /timed out after 0.3s/);
    const exited = await run("exit");
    assert.match((exited as { reason: string }).reason, /exited with code 4/);
    assert.deepEqual(await run("add", { args: [2, 3] }), { state: "success", value: 5 });
  });

  test("never more workers than maxWorkers, even with many tasks at once", async () => {
    const outcomes = await Promise.all(Array.from({ length: 8 }, (_, i) => run("add", { args: [i, i] })));
    assert.deepEqual(
      outcomes.map((o) => (o as { value: number }).value),
      [0, 2, 4, 6, 8, 10, 12, 14],
    );
    assert.ok(pool.size <= 2);
  });
});

type Stamp = { state: string; value: { pid: number; at: number; end: number } };

describe("TaskFlow pool: a second request waits in a busy worker (pipelining)", () => {
  // One worker, and no task counts as long: a second task always waits in the worker.
  const pool = new TaskFlowPool({ maxWorkers: 1, defaultMemoryLimit: 128, spawnDelayMs: 60_000 });
  after(() => pool.close());
  const logLines: string[] = [];
  const run = runner(pool, logLines);

  test("the waiting task starts when the running one ends; both succeed", async () => {
    await run("stamp"); // a warm worker
    const a = run("sleep", { args: [200] });
    const b = run("stamp");
    assert.equal(pool.queued, 1);
    const [ra, rb] = (await Promise.all([a, b])) as [Stamp, Stamp];
    assert.equal(ra.state, "success");
    assert.equal(rb.state, "success");
    assert.equal(rb.value.pid, ra.value.pid);
    assert.ok(rb.value.at >= ra.value.end);
  });

  for (const [how, taskId, memoryLimit, reason] of [
    ["process.exit", "exit", 128, /exited with code 4/],
    ["out of memory", "hog", 64, /memory limit of 64 MiB exceeded/],
  ] as const) {
    test(`${how} fails the running task alone; the one waiting behind it runs on a new worker`, async () => {
      const warm = (await run("stamp", { memoryLimit })) as Stamp;
      const a = run(taskId, { memoryLimit });
      const b = run("stamp", { memoryLimit });
      assert.equal(pool.queued, 1);
      const ra = (await a) as { state: string; reason: string; retryable: boolean };
      assert.equal(ra.state, "failed");
      assert.match(ra.reason, reason);
      const rb = (await b) as Stamp;
      assert.equal(rb.state, "success");
      assert.notEqual(rb.value.pid, warm.value.pid);
    });
  }

  test("the waiting task's timeout counts from when it starts, not while it waits", async () => {
    await run("stamp");
    const a = run("sleep", { args: [600] });
    const b = run("sleep", { args: [150], timeout: 0.4 });
    assert.equal(pool.queued, 1);
    assert.equal(((await a) as Stamp).state, "success");
    assert.equal(((await b) as Stamp).state, "success");
    // It does time out once running.
    const c = run("sleep", { args: [300] });
    const d = run("slow", { timeout: 0.2 });
    assert.equal(pool.queued, 1);
    assert.equal(((await c) as Stamp).state, "success");
    assert.match(((await d) as { reason: string }).reason, /timed out after 0.2s/);
  });

  test("stopping the waiting task drops it and leaves the running one alone", async () => {
    const warm = (await run("stamp")) as Stamp;
    logLines.length = 0;
    const a = run("sleep", { args: [300] });
    const stop = new AbortController();
    const b = run("stamp", { signal: stop.signal });
    assert.equal(pool.queued, 1);
    stop.abort();
    assert.deepEqual(await b, {
      state: "failed",
      reason: "stopped: the task was cleared or the run ended",
      retryable: false,
    });
    const ra = (await a) as Stamp;
    assert.equal(ra.state, "success");
    assert.equal(ra.value.pid, warm.value.pid);
    assert.equal(pool.queued, 0);
    assert.equal(((await run("stamp")) as Stamp).value.pid, warm.value.pid);
    assert.deepEqual(logLines, ["stdout:stamp:stamp ran\n"]); // the stopped one never ran
  });
});

describe("TaskFlow pool: a task waiting behind a long one", () => {
  const pool = new TaskFlowPool({ maxWorkers: 2, defaultMemoryLimit: 128, spawnDelayMs: 50 });
  after(() => pool.close());
  const run = runner(pool, []);

  test("is taken back after spawnDelayMs and runs on a new worker", async () => {
    const warm = (await run("stamp")) as Stamp;
    const started = Date.now();
    const a = run("sleep", { args: [3000] });
    const b = run("stamp");
    assert.equal(pool.queued, 1);
    const rb = (await b) as Stamp;
    assert.equal(rb.state, "success");
    assert.notEqual(rb.value.pid, warm.value.pid);
    assert.ok(rb.value.at - started < 2500, `${rb.value.at - started} ms`);
    assert.equal(((await a) as Stamp).value.pid, warm.value.pid);
  });
});

/** Two DAGs in one file: each task tells what earlier tasks of its process left behind, then leaves its own. */
const TWO_DAGS = `import { dag, task } from "updraft";
globalThis.__loads = (globalThis.__loads ?? 0) + 1;
const leave = (dagId: string) => () => {
  const g = globalThis as { left?: string[]; __loads?: number };
  const seen = { global: g.left ?? null, env: process.env.UPDRAFT_TEST_LEFT ?? null, pid: process.pid, loads: g.__loads };
  g.left = [...(g.left ?? []), dagId];
  process.env.UPDRAFT_TEST_LEFT = dagId;
  return seen;
};
export const a = dag({ dagId: "dag_a" }, () => {
  task("leave", leave("dag_a"))();
  task("sleep", (ms: number) => new Promise((r) => setTimeout(() => r({ pid: process.pid, end: Date.now() }), ms)))(0);
});
export const b = dag({ dagId: "dag_b" }, () => {
  task("leave", leave("dag_b"))();
  task("sleep", (ms: number) => new Promise((r) => setTimeout(() => r({ pid: process.pid, end: Date.now() }), ms)))(0);
});
`;
const twoDagsPath = join(dir, "two.ts");
writeFileSync(twoDagsPath, TWO_DAGS);

type Seen = { global: string[] | null; env: string | null; pid: number; loads: number };

function dagRunner(pool: TaskFlowPool) {
  return async <T = Seen>(dagId: string, taskId = "leave", args: unknown[] = []): Promise<T> => {
    const outcome = await pool.run({
      request: { path: twoDagsPath, version: "v1", dagId, taskId, args, context: {} },
      memoryLimit: null,
      timeout: null,
      log: { write: () => undefined },
    });
    assert.equal(outcome.state, "success", JSON.stringify(outcome));
    return (outcome as { value: T }).value;
  };
}

async function until<T>(what: string, probe: () => T | undefined, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("TaskFlow pool: workers per DAG", () => {
  test("a task of another DAG never sees what a DAG's task left in globals and process.env; its own DAG's next task does, on the same worker", async () => {
    const pool = new TaskFlowPool({ maxWorkers: 2, defaultMemoryLimit: 128 });
    try {
      const run = dagRunner(pool);
      const a1 = await run("dag_a");
      const b1 = await run("dag_b");
      const a2 = await run("dag_a");
      assert.deepEqual([a1.global, a1.env], [null, null]);
      assert.deepEqual([b1.global, b1.env], [null, null], "dag_b ran in a process of its own");
      assert.notEqual(b1.pid, a1.pid);
      assert.deepEqual([a2.global, a2.env], [["dag_a"], "dag_a"], "dag_a's worker was reused");
      assert.equal(a2.pid, a1.pid);
      assert.equal(a2.loads, 1, "the DAG file was loaded once in that worker");
    } finally {
      await pool.close();
    }
  });

  test("a spare worker (Node and the SDK loaded, no DAG) takes the first task of a DAG without a worker, and another spare starts", async () => {
    const pool = new TaskFlowPool({ maxWorkers: 2, defaultMemoryLimit: 128, spareWorkers: 1 });
    try {
      const run = dagRunner(pool);
      const a = await run("dag_a");
      const spare = await until("a warm spare", () => pool.workers().find((w) => w.dagId === null && w.warm));
      assert.notEqual(spare.pid, a.pid);
      const b = await run("dag_b");
      assert.equal(b.pid, spare.pid, "dag_b's task ran in the spare");
      assert.deepEqual([b.global, b.env, b.loads], [null, null, 1], "the spare had run no task before");
      const next = await until("the spare's replacement", () =>
        pool.workers().find((w) => w.dagId === null && w.pid !== spare.pid),
      );
      assert.ok(next.pid !== a.pid && next.pid !== b.pid);
      assert.deepEqual(
        pool
          .workers()
          .map((w) => w.dagId)
          .sort(),
        ["dag_a", "dag_b", null],
      );
      assert.equal(pool.size, 2, "spares are not counted in maxWorkers");
    } finally {
      await pool.close();
    }
  });

  test("an unused spare exits after idleTimeoutMs like any idle worker, and no other starts in its place", async () => {
    const pool = new TaskFlowPool({ maxWorkers: 2, defaultMemoryLimit: 128, idleTimeoutMs: 400 });
    try {
      await dagRunner(pool)("dag_a");
      const spare = await until("a spare", () => pool.workers().find((w) => w.dagId === null));
      await until("every worker to exit", () => (pool.workers().length === 0 ? true : undefined));
      await until("the spare's process to end", () => (alive(spare.pid!) ? undefined : true));
    } finally {
      await pool.close();
    }
  });

  test("spareWorkers: 0 keeps no spare", async () => {
    const pool = new TaskFlowPool({ maxWorkers: 2, defaultMemoryLimit: 128, spareWorkers: 0 });
    try {
      await dagRunner(pool)("dag_a");
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(
        pool.workers().map((w) => w.dagId),
        ["dag_a"],
      );
    } finally {
      await pool.close();
    }
  });

  test("at maxWorkers, an idle worker of another DAG makes room (its process ends); a busy one is waited for", async () => {
    const pool = new TaskFlowPool({ maxWorkers: 1, defaultMemoryLimit: 128, spareWorkers: 0 });
    try {
      const run = dagRunner(pool);
      const a = await run("dag_a");
      const b = await run("dag_b");
      assert.notEqual(b.pid, a.pid);
      assert.equal(pool.size, 1);
      await until("dag_a's worker to end", () => (alive(a.pid) ? undefined : true));
      // dag_b's worker is busy: dag_a's task waits for it to end rather than share it.
      const busy = run<{ pid: number; end: number }>("dag_b", "sleep", [400]);
      const after = await run<Seen>("dag_a");
      const ended = await busy;
      assert.equal(ended.pid, b.pid);
      assert.notEqual(after.pid, b.pid);
      assert.deepEqual([after.global, after.env], [null, null]);
      assert.ok(pool.size <= 1);
    } finally {
      await pool.close();
    }
  });

  test("a DAG that keeps its only worker busy gives it up to a waiting DAG after a while", async () => {
    const pool = new TaskFlowPool({ maxWorkers: 1, defaultMemoryLimit: 128, spareWorkers: 0 });
    try {
      const run = dagRunner(pool);
      await run("dag_a");
      const started = Date.now();
      let stop = false;
      // dag_a always has a task running and one more coming, for 6 s.
      const loop = async () => {
        while (!stop && Date.now() - started < 6000) await run("dag_a", "sleep", [100]);
      };
      const loops = Promise.all([loop(), loop()]);
      await new Promise((r) => setTimeout(r, 300));
      const b = await run("dag_b");
      const waited = Date.now() - started;
      stop = true;
      await loops;
      assert.deepEqual([b.global, b.env], [null, null]);
      assert.ok(waited < 5000, `dag_b waited ${waited} ms`);
    } finally {
      await pool.close();
    }
  });
});

describe("TaskFlow worker", () => {
  test("refuses a task of another DAG than its first one's", async () => {
    const { fork } = await import("node:child_process");
    const child = fork(new URL("./taskflow-worker.ts", import.meta.url), [], {
      stdio: ["ignore", "ignore", "inherit", "ipc"],
      execArgv: ["--disable-warning=ExperimentalWarning"],
    });
    try {
      const results = new Map<number, { outcome: string; message?: string }>();
      child.on("message", (m: { kind: string; id: number; outcome: string; message?: string }) => {
        if (m.kind === "result") results.set(m.id, m);
      });
      const request = (id: number, dagId: string) =>
        child.send({ id, path: twoDagsPath, version: "v1", dagId, taskId: "leave", args: [], context: {} });
      request(1, "dag_a");
      request(2, "dag_b");
      await until("both replies", () => (results.size === 2 ? true : undefined));
      assert.equal(results.get(1)!.outcome, "success");
      assert.deepEqual(results.get(2), {
        id: 2,
        kind: "result",
        outcome: "failed",
        message: 'this TaskFlow worker runs tasks of dag "dag_a" only, not of "dag_b"',
        stack: null,
      });
    } finally {
      child.kill("SIGKILL");
    }
  });
});
