import { test } from "node:test";
import assert from "node:assert/strict";
import { SerializedDagSchema } from "../core/serialized.ts";
import { BUILTIN_DEFAULTS, bash, chain, cronTriggerTimetable, dag, empty, isDag, task } from "./index.ts";

function exampleEtl() {
  return dag(
    {
      dagId: "example_etl",
      schedule: "@daily",
      startDate: "2025-01-01",
      timezone: "Europe/Amsterdam",
      catchup: false,
      tags: ["example"],
      defaultArgs: { retries: 2, retryDelay: "30s" },
    },
    () => {
      const start = empty("start");
      const extract = task("extract", async () => [1, 2, 3]);
      const total = task("total", async (rows: number[]) => rows.reduce((a, b) => a + b, 0), { retries: 5 });
      const report = bash("report", { command: "echo total for {{ ds }}" });
      const rows = extract();
      chain(start, rows, total(rows), report);
    },
  );
}

test("the ETL example serializes with dependencies, XCom refs, defaults and the timezone applied", () => {
  const s = exampleEtl().serialize({ fileloc: "example_etl.ts" });
  assert.equal(s.version, 1);
  assert.equal(s.dagId, "example_etl");
  assert.equal(s.fileloc, "example_etl.ts");
  assert.deepEqual(s.schedule, { kind: "cron", expression: "0 0 * * *", preset: "@daily" });
  assert.equal(s.scheduleSemantics, "data_interval");
  assert.equal(s.startDate, "2024-12-31T23:00:00.000Z");
  assert.equal(s.endDate, null);
  assert.equal(s.timezone, "Europe/Amsterdam");
  assert.equal(s.catchup, false);
  assert.deepEqual(s.tags, ["example"]);
  assert.equal(s.owner, "updraft");
  assert.equal(s.maxActiveRuns, 16);
  assert.equal(s.isPausedUponCreation, null);
  assert.deepEqual(
    s.tasks.map((t) => [t.taskId, t.kind, t.upstream]),
    [
      ["start", "empty", []],
      ["extract", "task", ["start"]],
      ["total", "task", ["extract"]],
      ["report", "bash", ["total"]],
    ],
  );
  const [start, extract, total, report] = s.tasks;
  assert.deepEqual(total!.args, [{ __xcom__: { taskId: "extract", key: "return_value" } }]);
  assert.deepEqual(extract!.args, []);
  assert.deepEqual(report!.templateFields, { command: "echo total for {{ ds }}" });
  // defaultArgs apply to every task; the task's own option wins.
  assert.equal(start!.retries, 2);
  assert.equal(start!.retryDelay, 30);
  assert.equal(total!.retries, 5);
  assert.equal(total!.retryDelay, 30);
  // Built-in defaults for everything unset.
  assert.deepEqual(
    {
      triggerRule: report!.triggerRule,
      pool: report!.pool,
      poolSlots: report!.poolSlots,
      priorityWeight: report!.priorityWeight,
      weightRule: report!.weightRule,
      queue: report!.queue,
      owner: report!.owner,
      executionTimeout: report!.executionTimeout,
      memoryLimit: report!.memoryLimit,
      dependsOnPast: report!.dependsOnPast,
    },
    {
      triggerRule: "all_success",
      pool: "default_pool",
      poolSlots: 1,
      priorityWeight: 1,
      weightRule: "downstream",
      queue: "default",
      owner: "updraft",
      executionTimeout: null,
      memoryLimit: null,
      dependsOnPast: false,
    },
  );
  assert.deepEqual(SerializedDagSchema.parse(s), s);
});

test("configuration defaults fill what the DAG leaves unset, never what it sets", () => {
  const d = dag({ dagId: "defaults", startDate: "2025-06-01T06:00", maxActiveRuns: 2 }, () => {
    empty("a");
    empty("b", { retries: 1, pool: "small", queue: "fast", owner: "ann" });
  });
  const s = d.serialize({
    fileloc: "defaults.ts",
    defaults: {
      timezone: "America/New_York",
      owner: "ops",
      pool: "p",
      queue: "q",
      retries: 3,
      retryDelay: 60,
      maxActiveRuns: 7,
      maxActiveTasks: 9,
      catchup: true,
    },
  });
  assert.equal(s.timezone, "America/New_York");
  assert.equal(s.startDate, "2025-06-01T10:00:00.000Z");
  assert.equal(s.maxActiveRuns, 2);
  assert.equal(s.maxActiveTasks, 9);
  assert.equal(s.catchup, true);
  assert.equal(s.owner, "ops");
  const [a, b] = s.tasks;
  assert.deepEqual([a!.retries, a!.retryDelay, a!.pool, a!.queue, a!.owner], [3, 60, "p", "q", "ops"]);
  assert.deepEqual([b!.retries, b!.retryDelay, b!.pool, b!.queue, b!.owner], [1, 60, "small", "fast", "ann"]);
  // Without defaults: the built-in ones.
  const builtin = d.serialize({ fileloc: "defaults.ts" });
  assert.equal(builtin.timezone, BUILTIN_DEFAULTS.timezone);
  assert.equal(builtin.startDate, "2025-06-01T06:00:00.000Z");
  assert.equal(builtin.tasks[0]!.retryDelay, 300);
});

test("dates: offsets and Dates are instants, wall-clock times are read in the DAG's timezone", () => {
  const serialized = (startDate: string | Date, endDate?: string) =>
    dag({ dagId: "dates", timezone: "Europe/Amsterdam", startDate, endDate }, () => {}).serialize({
      fileloc: "d.ts",
    });
  assert.equal(serialized("2025-07-01T06:30").startDate, "2025-07-01T04:30:00.000Z");
  assert.equal(serialized("2025-07-01 06:30:15").startDate, "2025-07-01T04:30:15.000Z");
  assert.equal(serialized("2025-07-01T06:30:00+02:00").startDate, "2025-07-01T04:30:00.000Z");
  assert.equal(serialized("2025-07-01T06:30:00Z").startDate, "2025-07-01T06:30:00.000Z");
  assert.equal(serialized(new Date("2025-07-01T06:30:00Z")).startDate, "2025-07-01T06:30:00.000Z");
  assert.equal(serialized("2025-01-01", "2025-12-31").endDate, "2025-12-30T23:00:00.000Z");
});

test("schedules: presets, cron, intervals, once and manual", () => {
  const schedule = (s: Parameters<typeof dag>[0]["schedule"]) =>
    dag({ dagId: "s", schedule: s }, () => {}).serialize({ fileloc: "s.ts" }).schedule;
  assert.deepEqual(schedule("30 2 * * 1-5"), { kind: "cron", expression: "30 2 * * 1-5", preset: null });
  assert.deepEqual(schedule({ every: "30m" }), { kind: "interval", seconds: 1800 });
  assert.deepEqual(schedule({ every: 90 }), { kind: "interval", seconds: 90 });
  assert.deepEqual(schedule("@once"), { kind: "once" });
  assert.equal(schedule(null), null);
  assert.equal(schedule(undefined), null);
});

test("a cron string's semantics: the DAG's scheduleSemantics, else configuration (data intervals by default)", () => {
  const semantics = (
    schedule: string | { every: string },
    defaults = {},
    own?: "trigger" | "data_interval",
  ) =>
    dag({ dagId: "sem", schedule, scheduleSemantics: own }, () => {}).serialize({
      fileloc: "sem.ts",
      defaults,
    }).scheduleSemantics;
  assert.equal(semantics("@daily"), "data_interval");
  assert.equal(semantics("@daily", { createCronDataIntervals: false }), "trigger");
  assert.equal(semantics("@daily", { createDeltaDataIntervals: false }), "data_interval");
  assert.equal(semantics({ every: "1h" }), "data_interval");
  assert.equal(semantics({ every: "1h" }, { createDeltaDataIntervals: false }), "trigger");
  assert.equal(semantics({ every: "1h" }, { createCronDataIntervals: false }), "data_interval");
  // The DAG's own choice wins over configuration.
  assert.equal(semantics("@daily", {}, "trigger"), "trigger");
  assert.equal(semantics("@daily", { createCronDataIntervals: false }, "data_interval"), "data_interval");
  assert.throws(
    () => dag({ dagId: "sem", schedule: "@daily", scheduleSemantics: "ticks" } as never, () => {}),
    /scheduleSemantics "ticks" is not one of "data_interval", "trigger"/,
  );
  assert.throws(
    () =>
      dag(
        { dagId: "sem", schedule: cronTriggerTimetable("0 3 * * *"), scheduleSemantics: "data_interval" },
        () => {},
      ),
    /contradicts the timetable given as schedule, which is "trigger": remove scheduleSemantics/,
  );
});

test("every task option reaches the serialized form", () => {
  const s = dag(
    { dagId: "opts", owner: "dag-owner", dagrunTimeout: "2h", isPausedUponCreation: false },
    () => {
      empty("e", {
        retries: 4,
        retryDelay: "1m30s",
        retryExponentialBackoff: true,
        maxRetryDelay: "1h",
        executionTimeout: 600,
        triggerRule: "none_failed_or_skipped",
        waitForDownstream: true,
        pool: "p",
        poolSlots: 3,
        priorityWeight: -2,
        weightRule: "absolute",
        queue: "q",
        docMd: "# doc",
        memoryLimit: "1GiB",
      });
      empty("f", { triggerRule: "dummy", memoryLimit: 256 });
    },
  ).serialize({ fileloc: "o.ts" });
  assert.equal(s.dagrunTimeout, 7200);
  assert.equal(s.isPausedUponCreation, false);
  assert.equal(s.owner, "dag-owner");
  const [e, f] = s.tasks;
  assert.deepEqual(
    { ...e, templateFields: undefined, args: undefined },
    {
      taskId: "e",
      kind: "empty",
      upstream: [],
      triggerRule: "none_failed_min_one_success",
      retries: 4,
      retryDelay: 90,
      retryExponentialBackoff: true,
      maxRetryDelay: 3600,
      executionTimeout: 600,
      dependsOnPast: true, // implied by waitForDownstream
      waitForDownstream: true,
      pool: "p",
      poolSlots: 3,
      priorityWeight: -2,
      weightRule: "absolute",
      queue: "q",
      owner: "dag-owner",
      docMd: "# doc",
      memoryLimit: 1024,
      templateFields: undefined,
      args: undefined,
    },
  );
  assert.equal(f!.triggerRule, "always");
  assert.equal(f!.memoryLimit, 256);
});

test("bash templateFields carry command, env and cwd, omitting absent ones", () => {
  const s = dag({ dagId: "b" }, () => {
    bash("one", { command: "echo {{ ds }}" });
    bash("two", { command: "echo $X", env: { X: "{{ ds_nodash }}" }, cwd: "/tmp", retries: 1 });
  }).serialize({ fileloc: "b.ts" });
  assert.deepEqual(s.tasks[0]!.templateFields, { command: "echo {{ ds }}" });
  assert.deepEqual(s.tasks[1]!.templateFields, {
    command: "echo $X",
    env: { X: "{{ ds_nodash }}" },
    cwd: "/tmp",
  });
  assert.equal(s.tasks[1]!.retries, 1);
});

test("params: plain values become defaults with an inferred type; specs are kept", () => {
  const s = dag(
    {
      dagId: "params",
      params: {
        name: "world",
        count: 3,
        ratio: 0.5,
        dry: false,
        ids: [1, 2],
        opts: { region: "eu" },
        nothing: null,
        env: { type: "string", default: "dev", enum: ["dev", "prod"], description: "where to run" },
        size: { type: "integer", default: 10, minimum: 1, maximum: 100 },
        required: { type: "string" },
        nested: { type: "object", default: { type: "x" } },
      },
    },
    () => {},
  ).serialize({ fileloc: "p.ts" });
  assert.deepEqual(s.params, {
    name: { default: "world", type: "string" },
    count: { default: 3, type: "number" },
    ratio: { default: 0.5, type: "number" },
    dry: { default: false, type: "boolean" },
    ids: { default: [1, 2], type: "array" },
    opts: { default: { region: "eu" }, type: "object" },
    nothing: { default: null },
    env: { type: "string", default: "dev", enum: ["dev", "prod"], description: "where to run" },
    size: { type: "integer", default: 10, minimum: 1, maximum: 100 },
    required: { type: "string" },
    nested: { type: "object", default: { type: "x" } },
  });
});

test("tasks are sorted topologically with ties by task id; upstream lists are sorted", () => {
  const d = dag({ dagId: "order" }, () => {
    const z = empty("z");
    const a = empty("a");
    const m = empty("m");
    const join = empty("join");
    join.setUpstream(z, m, a);
    empty("b").after(join);
  });
  assert.deepEqual(d.taskIds, ["a", "m", "z", "join", "b"]);
  const s = d.serialize({ fileloc: "o.ts" });
  assert.deepEqual(
    s.tasks.map((t) => t.taskId),
    ["a", "m", "z", "join", "b"],
  );
  assert.deepEqual(s.tasks[3]!.upstream, ["a", "m", "z"]);
});

test("the Dag: brand, isDag, accessors and the in-memory task with its function", async () => {
  const d = exampleEtl();
  assert.equal(isDag(d), true);
  assert.equal((d as unknown as Record<symbol, unknown>)[Symbol.for("updraft.dag")], true);
  assert.equal(isDag({}), false);
  assert.equal(isDag(null), false);
  assert.equal(d.dagId, "example_etl");
  assert.deepEqual(d.taskIds, ["start", "extract", "total", "report"]);
  const total = d.getTask("total")!;
  assert.equal(total.kind, "task");
  assert.equal(total.dagId, "example_etl");
  assert.deepEqual(total.options, { retries: 5, retryDelay: "30s" });
  assert.deepEqual(total.upstream, ["extract"]);
  assert.deepEqual(total.downstream, ["report"]);
  assert.deepEqual(total.serializedArgs, [{ __xcom__: { taskId: "extract", key: "return_value" } }]);
  assert.equal(total.args.length, 1);
  assert.equal(await total.fn!([1, 2, 3]), 6);
  assert.equal(d.getTask("report")!.fn, undefined);
  assert.deepEqual(d.getTask("report")!.templateFields, { command: "echo total for {{ ds }}" });
  assert.equal(d.getTask("missing"), undefined);
  assert.equal(d.tasks.length, 4);
});

test("serialize returns a fresh object each time", () => {
  const d = exampleEtl();
  const first = d.serialize({ fileloc: "a.ts" });
  (first.tasks[2]!.args[0] as Record<string, unknown>).changed = true;
  assert.deepEqual(d.serialize({ fileloc: "a.ts" }).tasks[2]!.args, [
    { __xcom__: { taskId: "extract", key: "return_value" } },
  ]);
});
