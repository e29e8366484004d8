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
