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
});
`;

describe("TaskFlow pool", () => {
  const dir = mkdtempSync(join(tmpdir(), "updraft-tf-"));
  const path = join(dir, "tf.ts");
  writeFileSync(path, DAG_FILE);
  const pool = new TaskFlowPool({ maxWorkers: 2, defaultMemoryLimit: 128 });
  after(() => pool.close());

  const logLines: string[] = [];
  const run = (
    taskId: string,
    extra: {
      args?: unknown[];
      timeout?: number;
      memoryLimit?: number;
      context?: Record<string, unknown>;
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
      log: { write: (chunk, stream) => logLines.push(`${stream}:${chunk}`) },
    });

  test("runs a task with its arguments; its console output goes to the task's log", async () => {
    assert.deepEqual(await run("add", { args: [20, 22] }), { state: "success", value: 42 });
    assert.ok(logLines.includes("stdout:adding 20 22\n"), logLines.join(""));
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
