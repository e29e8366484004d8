/** sensor() and defer() as DAG files use them: what is stored, what is refused, what a task throws. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { DagDefinitionError } from "../core/errors.ts";
import { dag, defer, deferralOf, sensor, task, timeDeltaTrigger, dateTimeTrigger } from "./index.ts";

test("a sensor stores its settings with Airflow's defaults, and its value is an output", () => {
  const d = dag({ dagId: "s" }, () => {
    const ready = sensor("ready", () => ({ done: true, value: 3 }), {
      pokeInterval: "250ms",
      mode: "reschedule",
      softFail: true,
      retries: 2,
    });
    const use = task("use", (n: number) => n + 1);
    use(ready);
    sensor("plain", () => true);
  });
  const tasks = d.serialize({ fileloc: "s.ts" }).tasks;
  const ready = tasks.find((t) => t.taskId === "ready")!;
  assert.equal(ready.kind, "sensor");
  assert.equal(ready.retries, 2, "task options apply to sensors");
  assert.deepEqual(ready.sensor, {
    mode: "reschedule",
    pokeInterval: 0.25,
    timeout: 7 * 86_400,
    softFail: true,
    exponentialBackoff: false,
    maxWait: null,
    deferrable: false,
  });
  assert.equal(tasks.find((t) => t.taskId === "plain")!.sensor?.pokeInterval, 60);
  assert.deepEqual(tasks.find((t) => t.taskId === "use")!.upstream, ["ready"]);
});

test("every problem of a sensor's options is reported at once, with Airflow's names translated", () => {
  let caught: unknown;
  try {
    dag({ dagId: "bad" }, () => {
      sensor("x", () => true, { poke_interval: 5, mode: "rescheduled", timeout: "abc" } as never);
    });
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof DagDefinitionError);
  assert.match(caught.message, /3 problems/);
  assert.match(caught.message, /Airflow's poke_interval is pokeInterval here/);
  assert.match(caught.message, /mode must be "poke" or "reschedule", got "rescheduled"/);
  assert.match(caught.message, /timeout: "abc" is not a duration/);
});

test("defer() throws what the runner records: the trigger's classpath, JSON kwargs and the timeout in seconds", () => {
  const at = new Date("2030-01-01T00:00:00Z");
  let thrown: unknown;
  try {
    defer(dateTimeTrigger(at), { timeout: "1h" });
  } catch (error) {
    thrown = error;
  }
  assert.deepEqual(deferralOf(thrown), {
    trigger: { classpath: "updraft.triggers.DateTimeTrigger", kwargs: { moment: at.toISOString() } },
    timeout: 3600,
  });
  const before = Date.now();
  const delta = timeDeltaTrigger("10s").serialize().kwargs.moment as string;
  assert.ok(
    Math.abs(Date.parse(delta) - before - 10_000) < 1000,
    "timeDeltaTrigger fires that long from now",
  );
  assert.throws(() => defer({} as never), /defer\(\) takes a trigger/);
  assert.throws(() => dateTimeTrigger("not a date"), /ISO 8601/);
});

test("a task's resume option is kept with it, and must be a function", () => {
  const d = dag({ dagId: "r" }, () => {
    task("waits", () => defer(timeDeltaTrigger("1m")), { resume: (event) => event })();
  });
  assert.equal(d.serialize({ fileloc: "r.ts" }).tasks[0]!.hasResume, true);
  assert.equal(typeof d.getTask("waits")?.resume, "function");
  assert.throws(
    () => dag({ dagId: "r2" }, () => void task("w", () => 1, { resume: "later" as never })()),
    /resume must be a function/,
  );
});
