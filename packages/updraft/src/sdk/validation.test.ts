import { test } from "node:test";
import assert from "node:assert/strict";
import { DagDefinitionError } from "../core/errors.ts";
import { bash, chain, dag, empty, task, type DagOptions, type TaskHandle } from "./index.ts";

/** Asserts `fn` throws a DagDefinitionError whose message starts with `start` and contains each of `parts`. */
function rejects(fn: () => unknown, start: string, ...parts: (string | RegExp)[]): DagDefinitionError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof DagDefinitionError, `expected a DagDefinitionError, got ${String(caught)}`);
  assert.equal(caught.code, "DAG_DEFINITION");
  assert.ok(caught.message.startsWith(start), `"${caught.message}" should start with "${start}"`);
  for (const part of parts) {
    if (typeof part === "string")
      assert.ok(caught.message.includes(part), `"${caught.message}" should contain "${part}"`);
    else assert.match(caught.message, part);
  }
  return caught;
}

const nothing = () => {};
const withOptions = (extra: Partial<DagOptions>) => () => dag({ dagId: "d", ...extra }, nothing);
const withTask = (options: object) => () => dag({ dagId: "d" }, () => void empty("t", options as never));

test("duplicate task ids", () => {
  const error = rejects(
    () =>
      dag({ dagId: "dup" }, () => {
        empty("same");
        bash("same", { command: "true" });
      }),
    'dag "dup": task "same": the task id is already used',
    "unique",
  );
  assert.equal(error.dagId, "dup");
  assert.equal(error.taskId, "same");
  // Two different task() definitions with one id are duplicates too (only repeated calls of one get __1).
  rejects(
    () =>
      dag({ dagId: "dup2" }, () => {
        task("x", () => 1)();
        task("x", () => 2)();
      }),
    'dag "dup2": task "x": the task id is already used',
  );
});

test("a cycle names its tasks in order", () => {
  rejects(
    () =>
      dag({ dagId: "loop" }, () => {
        const a = empty("a");
        const b = empty("b");
        const c = empty("c");
        empty("d").after(a);
        chain(a, b, c, a);
      }),
    'dag "loop": has a cycle: a -> b -> c -> a',
    "remove one of these dependencies",
  );
  rejects(
    () =>
      dag({ dagId: "self" }, () => {
        const a = empty("a");
        a.before(a);
      }),
    'dag "self": has a cycle: a -> a',
  );
  rejects(
    () =>
      dag({ dagId: "tail" }, () => {
        const [s, x, y] = [empty("s"), empty("x"), empty("y")];
        chain(s, y, x, y);
      }),
    'dag "tail": has a cycle: x -> y -> x',
  );
});

test("unknown trigger rules list the valid ones", () => {
  rejects(
    withTask({ triggerRule: "all_good" }),
    'dag "d": task "t": triggerRule "all_good" is not a trigger rule',
    "all_success",
    "none_failed_min_one_success",
    "dummy",
  );
  rejects(
    () => dag({ dagId: "d", defaultArgs: { triggerRule: "nope" as never } }, nothing),
    'dag "d": defaultArgs: triggerRule "nope" is not a trigger rule',
  );
});

test("bad schedules and timezones", () => {
  rejects(
    withOptions({ schedule: "61 * * * *" }),
    'dag "d": schedule: "61 * * * *" is not a valid cron expression',
  );
  rejects(
    withOptions({ schedule: "* * *" }),
    'dag "d": schedule: "* * *" is not a 5-field cron expression',
    "30 2 * * *",
  );
  rejects(
    withOptions({ schedule: "@fortnightly" }),
    'dag "d": schedule: unknown schedule preset "@fortnightly"',
    "@daily",
  );
  rejects(
    withOptions({ schedule: { every: "soon" } }),
    'dag "d": schedule { every } "soon" is not a duration',
    "30s",
  );
  rejects(withOptions({ schedule: { every: 0 } }), 'dag "d": schedule { every } must be longer than 0s');
  rejects(withOptions({ schedule: 5 as never }), 'dag "d": schedule 5 is not a schedule', "@daily", "null");
  rejects(
    withOptions({ timezone: "Mars/Olympus" }),
    'dag "d": timezone "Mars/Olympus" is not an IANA time zone',
    "Europe/Amsterdam",
  );
});

test("dates that do not parse say which formats work; endDate before startDate", () => {
  for (const bad of ["01/02/2025", "2025-02-30", "tomorrow", "2025-01-01T25:00"]) {
    rejects(
      withOptions({ startDate: bad }),
      `dag "d": startDate "${bad}" is not a date`,
      '"2025-01-01"',
      '"2025-01-01T06:00"',
      "offset",
      "Date",
    );
  }
  rejects(withOptions({ endDate: new Date("nope") }), 'dag "d": endDate is an invalid Date');
  rejects(
    withOptions({ startDate: "2025-02-01", endDate: "2025-01-01" }),
    'dag "d": endDate 2025-01-01 is before startDate 2025-02-01',
  );
});

test("a dependency on a task of another DAG names both DAGs", () => {
  let foreign: TaskHandle | undefined;
  dag({ dagId: "first" }, () => {
    foreign = empty("theirs");
  });
  rejects(
    () =>
      dag({ dagId: "second" }, () => {
        foreign!.before(empty("mine"));
      }),
    'dag "second": task "mine": cannot depend on task "theirs" of dag "first"',
  );
  let output: unknown;
  dag({ dagId: "producer" }, () => {
    output = task("make", () => 1)();
  });
  rejects(
    () =>
      dag({ dagId: "consumer" }, () => {
        task("use", (n: number) => n)(output as number);
      }),
    'dag "consumer": task "use": cannot depend on task "make" of dag "producer"',
  );
});

test("adding tasks outside a dag() build", () => {
  rejects(() => empty("lonely"), 'task "lonely": empty("lonely") was called outside a dag() build', "dag({");
  rejects(() => bash("b", { command: "true" }), 'task "b": bash("b") was called outside a dag() build');
  const factory = task("f", () => 1);
  rejects(
    () => factory(),
    'task "f": the factory returned by task("f", ...) was called outside a dag() build',
  );
});

test("invalid numbers", () => {
  rejects(
    withTask({ retries: -1 }),
    'dag "d": task "t": retries must be a whole number >= 0, got -1',
    "retries: 3",
  );
  rejects(withTask({ retries: 1.5 }), 'dag "d": task "t": retries must be a whole number >= 0');
  rejects(withTask({ poolSlots: 0 }), 'dag "d": task "t": poolSlots must be a whole number >= 1, got 0');
  rejects(
    withTask({ priorityWeight: "high" }),
    'dag "d": task "t": priorityWeight must be a whole number, got "high"',
  );
  rejects(withTask({ retryDelay: "-5s" }), 'dag "d": task "t": retryDelay "-5s" is not a duration', "1h30m");
  rejects(withTask({ executionTimeout: 0 }), 'dag "d": task "t": executionTimeout must be longer than 0s');
  rejects(
    withTask({ memoryLimit: "lots" }),
    'dag "d": task "t": memoryLimit "lots" is not a memory size',
    "512MiB",
  );
  rejects(
    withTask({ weightRule: "sideways" }),
    'dag "d": task "t": weightRule "sideways" is not a weight rule',
    "downstream",
  );
  rejects(withTask({ pool: "" }), 'dag "d": task "t": pool must be a non-empty string');
  rejects(withTask({ dependsOnPast: "yes" }), 'dag "d": task "t": dependsOnPast must be true or false');
  rejects(withOptions({ maxActiveRuns: 0 }), 'dag "d": maxActiveRuns must be a whole number >= 1, got 0');
  rejects(withOptions({ maxActiveTasks: -3 }), 'dag "d": maxActiveTasks must be a whole number >= 1');
  rejects(withOptions({ dagrunTimeout: "0s" }), 'dag "d": dagrunTimeout must be longer than 0s');
  rejects(
    withOptions({ defaultArgs: { retries: -2 } }),
    'dag "d": defaultArgs: retries must be a whole number >= 0',
  );
  rejects(
    () => task("early", () => 1, { poolSlots: 0 }),
    'task "early": poolSlots must be a whole number >= 1',
  );
});

test("invalid ids", () => {
  rejects(
    () => dag({ dagId: "has space" }, nothing),
    'dag "has space": the dag id contains " "',
    "letters, digits, dashes, dots and underscores",
    '"has_space"',
  );
  rejects(() => dag({ dagId: "" }, nothing), "dag(): the dag id must not be empty");
  rejects(
    () => dag({ dagId: "x".repeat(251) }, nothing),
    `dag "${"x".repeat(251)}": the dag id is 251 characters long; the maximum is 250`,
  );
  rejects(() => dag({} as DagOptions, nothing), "dag(): the dag id must be a string");
  rejects(
    () => dag({ dagId: "ok" }, () => void empty("a/b")),
    'dag "ok": task "a/b": the task id contains "/"',
  );
  rejects(
    () => dag({ dagId: "ok" }, () => void task("bad id!", () => 1)),
    'dag "ok": task "bad id!": the task id contains " ", "!"',
  );
  // Valid: letters, digits, dashes, dots, underscores.
  dag({ dagId: "Ok-1.2_x" }, () => void empty("A-1.b_c"));
});

test("non-JSON TaskFlow arguments name the task and the argument", () => {
  const call =
    (...args: unknown[]) =>
    () =>
      dag({ dagId: "args" }, () => {
        const t = task("t", (..._: unknown[]) => 1);
        t(...args);
      });
  rejects(
    call(1, () => 2),
    'dag "args": task "t": argument 1 is a function',
    "JSON",
  );
  rejects(
    call({ when: new Date(0) }),
    'dag "args": task "t": argument 0 (at .when) is an instance of Date',
    "toISOString",
  );
  rejects(call({ a: undefined }), 'dag "args": task "t": argument 0 (at .a) is undefined');
  rejects(call([1, 2n]), 'dag "args": task "t": argument 0 (at [1]) is the bigint 2n');
  rejects(call(new Map()), 'dag "args": task "t": argument 0 is an instance of Map');
  rejects(call(NaN), 'dag "args": task "t": argument 0 is NaN');
  rejects(call(undefined, 1), 'dag "args": task "t": argument 0 is undefined');
  rejects(call({ __xcom__: 1 }), 'dag "args": task "t": argument 0 (at .__xcom__) uses the key "__xcom__"');
  const loop: Record<string, unknown> = {};
  loop.self = loop;
  rejects(call(loop), 'dag "args": task "t": argument 0 (at .self) refers to itself');
  rejects(
    () =>
      dag({ dagId: "args" }, () => {
        const b = bash("b", { command: "true" });
        task("t", (x: unknown) => x)(b);
      }),
    'dag "args": task "t": argument 0 is the handle of task "b", not a value',
    "b.xcom()",
  );
});

test("unknown options suggest the right name", () => {
  rejects(
    withOptions({ schedule_interval: "@daily" } as never),
    'dag "d": dag() options has an unknown option "schedule_interval": Airflow\'s schedule_interval is schedule here',
  );
  rejects(
    withOptions({ start_date: "2025-01-01" } as never),
    'dag "d": dag() options has an unknown option "start_date": Airflow\'s start_date is startDate here',
  );
  rejects(
    withTask({ retry: 3 }),
    'dag "d": task "t": options has an unknown option "retry": did you mean "retries"?',
  );
  rejects(
    () => dag({ dagId: "d" }, () => void bash("b", { command: "true", enviroment: {} } as never)),
    'dag "d": task "b": bash() options has an unknown option "enviroment"',
  );
  rejects(
    withOptions({ scheduleInterval: "@daily" } as never),
    'dag "d": dag() options has an unknown option "scheduleInterval": did you mean "schedule"?',
  );
  rejects(
    withOptions({ defaultArgs: { retires: 3 } as never }),
    'dag "d": defaultArgs has an unknown option "retires": did you mean "retries"?',
  );
});

test("other definition problems", () => {
  rejects(
    () => dag({ dagId: "d" }, () => void bash("b", { command: "" })),
    'dag "d": task "b": bash() needs a command',
    "echo hello",
  );
  rejects(
    () => dag({ dagId: "d" }, () => void bash("b", { command: "x", env: { X: 1 as never } })),
    'dag "d": task "b": env.X must be a string',
  );
  rejects(
    () => dag({ dagId: "d" }, (async () => {}) as never),
    'dag "d": the build function returned a promise',
    "synchronous",
  );
  rejects(() => dag({ dagId: "d" }, undefined as never), 'dag "d": dag() takes a build function');
  rejects(withOptions({ tags: ["ok", ""] }), 'dag "d": tags must be an array of non-empty strings');
  rejects(
    withOptions({ params: { n: { type: "integer", default: "x" } } }),
    'dag "d": param "n": the default "x" is of type string, not integer',
  );
  rejects(
    withOptions({ params: { n: { type: "string", default: "c", enum: ["a", "b"] } } }),
    'dag "d": param "n": the default "c" is not one of the enum values',
  );
  rejects(
    withOptions({ params: { n: { type: "integer", default: 0, minimum: 1 } } }),
    'dag "d": param "n": the default 0 is below the minimum 1',
  );
  rejects(
    withOptions({ params: { n: { type: "string", defualt: "x" } as never } }),
    'dag "d": param "n" has an unknown key "defualt"',
  );
  rejects(withOptions({ params: { n: { type: "text" } as never } }), 'dag "d": param "n": type:');
  rejects(
    withOptions({ params: { n: { type: "string", pattern: "^(?=a)b$" } } }),
    'dag "d": param "n": the regular expression "^(?=a)b$" is not valid RE2 syntax',
    "lookaround",
  );
  rejects(
    withOptions({ params: { n: { type: "string", pattern: "(" } } }),
    'dag "d": param "n": the regular expression "(" is not valid RE2 syntax',
  );
  rejects(
    withOptions({ params: { n: { type: "string", default: "abc", pattern: "^[0-9]+$" } } }),
    'dag "d": param "n": the default "abc" does not match the pattern "^[0-9]+$"',
  );
  rejects(
    withOptions({ params: { n: (() => 1) as never } }),
    'dag "d": param "n": the default is a function',
  );
  rejects(
    () =>
      dag({ dagId: "d" }, () => {
        chain(empty("a"), "b" as never);
      }),
    'dag "d": chain() takes task handles or arrays of them, got "b"',
  );
  rejects(
    () =>
      dag({ dagId: "d" }, () => {
        const f = task("f", () => 1);
        empty("a").before(f as never);
      }),
    'dag "d": task "a": setDownstream() takes task handles or arrays of them, got a function',
    "call it",
  );
  rejects(
    () => dag({ dagId: "d" }, () => void task("t", "not a function" as never)),
    'dag "d": task "t": task() takes the task\'s function',
  );
});

test("an error thrown inside the build leaves no DAG context behind", () => {
  assert.throws(() =>
    dag({ dagId: "boom" }, () => {
      empty("a");
      throw new Error("user bug");
    }),
  );
  rejects(() => empty("after"), 'task "after": empty("after") was called outside a dag() build');
});
