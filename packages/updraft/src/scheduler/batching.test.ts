/** Light iterations: gathered while the executor is busy, at once while it is idle. */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { pino } from "pino";
import type { Executor } from "../executor/executor.ts";
import type { ClaimedTaskInstance } from "../storage/sql/claim-task-instances.ts";
import { openDatabase } from "../storage/database.ts";
import { migrateDatabase } from "../storage/migrate.ts";
import { Scheduler } from "./scheduler.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function fakeExecutor(running: number) {
  let finished: (ti: ClaimedTaskInstance) => void = () => undefined;
  const keys = Array.from({ length: running }, (_, i) => ({ dagId: "d", runId: "r", taskId: `t${i}` }));
  const executor: Executor = {
    name: "fake",
    freeSlots: () => 0,
    execute: () => undefined,
    onFinished: (listener) => void (finished = listener),
    running: () => keys,
    cancel: () => false,
    stop: async () => undefined,
  };
  const finish = (taskId: string) =>
    finished({
      dagId: "d",
      runId: "r",
      taskId,
      mapIndex: -1,
      dagRunId: 1,
      tryNumber: 1,
      pool: "default_pool",
    });
  return { executor, finish };
}

async function lightIterations(running: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "updraft-batching-"));
  const database = openDatabase(`sqlite:///${join(dir, "u.db")}`);
  await migrateDatabase(database);
  const { executor, finish } = fakeExecutor(running);
  let light = 0;
  const count = {
    observe: (l: { kind: string }) => void (l.kind === "light" && light++),
    inc() {},
    set() {},
  };
  const scheduler = new Scheduler({
    database,
    executor,
    log: pino({ level: "silent" }),
    loopIntervalMs: 60_000,
    parallelism: 32,
    heartbeatTimeout: 300,
    gracefulShutdownMs: 100,
    metrics: { loopSeconds: count, runsCreated: count, executorRunning: count } as never,
  });
  try {
    await scheduler.start();
    await sleep(100); // the first, full iteration
    for (let i = 0; i < 4; i++) {
      finish(`t${i}`);
      await sleep(2);
    }
    await sleep(100);
    return light;
  } finally {
    await scheduler.stop();
    await database.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test("tasks finishing while the executor is busy are handled by one light iteration", async () => {
  assert.ok((await lightIterations(20)) <= 2);
});

test("with the executor idle, each finished task gets its light iteration", async () => {
  assert.ok((await lightIterations(0)) >= 2);
});
