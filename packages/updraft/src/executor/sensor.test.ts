/**
 * The runner's decision after each check (runSensor), on a clock the test moves: what "not yet" means
 * in each mode, where the timeout counts from, what a trigger timeout does, and the backoff's growth.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { SensorSettings, SerializedTask } from "../core/serialized.ts";
import { nextInterval, runSensor } from "./sensor.ts";
import type { Result, Workload } from "./run-task-instance.ts";

const settings = (over: Partial<SensorSettings> = {}): SensorSettings => ({
  mode: "poke",
  pokeInterval: 10,
  timeout: 60,
  softFail: false,
  exponentialBackoff: false,
  maxWait: null,
  deferrable: false,
  ...over,
});

const workload = (s: SensorSettings, over: Partial<Workload> = {}): Workload =>
  ({
    dagId: "d",
    runId: "r",
    taskId: "t",
    mapIndex: -1,
    tryNumber: 1,
    task: { taskId: "t", kind: "sensor", sensor: s } as SerializedTask,
    sensorStartedAt: new Date(0).toISOString(),
    ...over,
  }) as Workload;

/** A check answering `answers` in turn, on a clock that sleeping moves. */
function scripted(answers: unknown[]) {
  const clock = { now: 0 };
  const slept: number[] = [];
  let i = 0;
  return {
    clock,
    slept,
    run: {
      poke: async (): Promise<Result> => ({ state: "success", value: answers[i++] }),
      log: { write: () => undefined },
      signal: new AbortController().signal,
      now: () => clock.now,
      sleep: async (ms: number) => {
        slept.push(ms);
        clock.now += ms;
      },
    },
  };
}

test("poke mode checks in its slot until done, pushing the check's value", async () => {
  const s = scripted([false, false, { done: true, value: "here" }]);
  const result = await runSensor(workload(settings()), s.run);
  assert.deepEqual(result, { state: "success", value: "here" });
  assert.deepEqual(s.slept, [10_000, 10_000]);
});

test("reschedule mode gives the slot back with the next check's time; deferrable hands the wait to a trigger", async () => {
  const r = scripted([false]);
  r.clock.now = 5_000;
  assert.deepEqual(await runSensor(workload(settings({ mode: "reschedule" })), r.run), {
    state: "up_for_reschedule",
    at: new Date(15_000).toISOString(),
  });
  const d = scripted([{ done: false }]);
  d.clock.now = 20_000;
  const deferred = await runSensor(workload(settings({ deferrable: true })), d.run);
  assert.deepEqual(deferred, {
    state: "deferred",
    trigger: {
      classpath: "updraft.triggers.DateTimeTrigger",
      kwargs: { moment: new Date(30_000).toISOString() },
    },
    timeout: 40,
  });
});

test("the timeout counts from the try's first check, across reschedules: it fails without retries, or skips with softFail", async () => {
  const late = scripted([false]);
  late.clock.now = 61_000;
  const w = workload(settings({ mode: "reschedule" }));
  const failed = await runSensor(w, late.run);
  assert.equal(failed.state, "failed");
  assert.equal((failed as { retryable: boolean }).retryable, false);
  const soft = scripted([false]);
  soft.clock.now = 61_000;
  assert.equal((await runSensor(workload(settings({ softFail: true })), soft.run)).state, "skipped");
  // A trigger that timed out: no check at all.
  const timedOut = scripted([]);
  const next = { method: "__fail__" as const, error: "the trigger's timeout passed" };
  assert.equal(
    (await runSensor(workload(settings({ softFail: true }), { next }), timedOut.run)).state,
    "skipped",
  );
});

test("exponential backoff doubles the wait (with a stable jitter), up to maxWait and the time left", () => {
  const s = settings({ exponentialBackoff: true, pokeInterval: 4, timeout: 10_000 });
  const w = workload(s);
  const waits = [1, 2, 3, 4, 5, 6].map((n) => nextInterval(s, n, 0, w));
  for (let n = 2; n < waits.length; n++)
    assert.ok(waits[n]! >= 4 * 2 ** (n - 1), `wait ${n + 1} is ${waits[n]}`);
  assert.deepEqual(
    waits,
    [1, 2, 3, 4, 5, 6].map((n) => nextInterval(s, n, 0, w)),
    "the jitter is stable",
  );
  assert.equal(nextInterval({ ...s, maxWait: 30 }, 10, 0, w), 30);
  assert.equal(nextInterval(s, 10, 9_995, w), 5, "never past the timeout");
});
