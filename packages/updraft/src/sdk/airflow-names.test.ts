import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { DagDefinitionError } from "../core/errors.ts";
import { AIRFLOW_NAMES, airflowHint, dateHint, durationHint, scheduleHint } from "./airflow-names.ts";
import { bash, chain, dag, empty, task, taskGroup } from "./index.ts";

function caught(fn: () => unknown): DagDefinitionError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof DagDefinitionError, `expected a DagDefinitionError, got ${String(error)}`);
    return error;
  }
  assert.fail("expected a DagDefinitionError");
}

test("a DAG written the Airflow way gets one error listing every problem with its hint", () => {
  const error = caught(() =>
    dag(
      {
        dagId: "etl",
        start_date: "2025-01-01",
        schedule: "1d",
        default_args: { retries: 2 },
        defaultArgs: { retry_delay: "5m", executionTimeout: { minutes: 30 } },
      } as never,
      () => {
        const extract = bash("extract", { bash_command: "echo hi" } as never);
        const load = task("load", () => 1, { python_callable: "f", retries: -1 } as never)();
        chain(extract, load, empty("done", { trigger_rule: "all_done" } as never));
      },
    ),
  );
  assert.equal(error.code, "DAG_DEFINITION");
  assert.equal(error.dagId, "etl");
  assert.equal(error.taskId, undefined);
  const lines = [
    `dag() options has an unknown option "start_date": Airflow's start_date is startDate here`,
    `dag() options has an unknown option "default_args": Airflow's default_args is defaultArgs here`,
    `schedule "1d" is not a cron expression or preset: for an interval write { every: "1d" }`,
    `defaultArgs has an unknown option "retry_delay": Airflow's retry_delay is retryDelay here`,
    `executionTimeout {"minutes":30} is not a duration: for Airflow's timedelta write a duration string: "30m"`,
    `task "extract": bash() options has an unknown option "bash_command": Airflow's bash_command is command here`,
    `task "load": options has an unknown option "python_callable": Airflow's python_callable: the function is task()'s second argument`,
    `task "load": retries must be a whole number >= 0, got -1`,
    `task "done": options has an unknown option "trigger_rule": Airflow's trigger_rule is triggerRule here`,
  ];
  assert.ok(error.message.startsWith(`dag "etl": ${lines.length} problems:\n  - `), error.message);
  for (const line of lines)
    assert.ok(error.message.includes(line), `missing:\n${line}\nin:\n${error.message}`);
  assert.equal(error.problems.length, lines.length);
  // The missing command is the misspelled bash_command, not a problem of its own.
  assert.doesNotMatch(error.message, /needs a command/);
});

test("a bad defaultArgs option is reported once, not once per task", () => {
  const error = caught(() =>
    dag({ dagId: "d", defaultArgs: { retries: "3" } as never, tags: "x" as never }, () => {
      chain(empty("a"), empty("b"), empty("c"));
    }),
  );
  assert.equal(error.problems.length, 2, error.message);
  assert.match(error.message, /defaultArgs: retries must be a whole number/);
  assert.match(error.message, /tags must be an array/);
});

test("the contents of Airflow's default_args are checked too, so renaming it reveals nothing new", () => {
  const error = caught(() =>
    dag(
      {
        dagId: "d",
        schedule: null,
        default_args: { retry_delay: "timedelta(minutes=5)", retries: "x" },
      } as never,
      () => {
        chain(empty("a"), empty("b"));
      },
    ),
  );
  const lines = [
    `dag() options has an unknown option "default_args": Airflow's default_args is defaultArgs here`,
    `default_args has an unknown option "retry_delay": Airflow's retry_delay is retryDelay here; for Airflow's timedelta write a duration string: "5m"`,
    `default_args: retries must be a whole number >= 0, got "x"`,
  ];
  for (const line of lines)
    assert.ok(error.message.includes(line), `missing:\n${line}\nin:\n${error.message}`);
  assert.equal(error.problems.length, lines.length, error.message);
  // With defaultArgs written, default_args is only an unknown option (its contents are not used).
  const both = caught(() =>
    dag({ dagId: "d", defaultArgs: { retries: 1 }, default_args: { retries: "x" } } as never, () => {
      empty("a");
    }),
  );
  assert.doesNotMatch(both.message, /retries must be/);
});

test("one problem keeps the single-line message; a structural error joins what was gathered", () => {
  const one = caught(() => dag({ dagId: "d", catchup: "no" } as never, () => {}));
  assert.equal(one.message.split("\n").length, 1);
  assert.match(one.message, /^dag "d": catchup must be true or false/);
  const both = caught(() =>
    dag({ dagId: "d", max_active_runs: 1 } as never, () => {
      const a = empty("a");
      a.before(a);
    }),
  );
  assert.match(both.message, /^dag "d": 2 problems:/);
  assert.match(both.message, /Airflow's max_active_runs is maxActiveRuns here/);
  assert.match(both.message, /has a cycle: a -> a/);
});

test("dag_id names the DAG while its problems are listed", () => {
  const error = caught(() => dag({ dag_id: "legacy", catchup: 1 } as never, () => {}));
  assert.equal(error.dagId, "legacy");
  assert.match(error.message, /^dag "legacy": 2 problems:/);
  assert.match(error.message, /"dag_id": Airflow's dag_id is dagId here/);
});

test("a task defined outside a DAG lists its problems at once", () => {
  const error = caught(() =>
    task("early", () => 1, { retries: -1, pool_slots: 2, multipleOutputs: 1 } as never),
  );
  assert.match(error.message, /^task "early": 3 problems:/);
  assert.match(error.message, /Airflow's pool_slots is poolSlots here/);
  assert.match(error.message, /multipleOutputs must be true or false/);
});

test("task groups and overrides gather too", () => {
  const error = caught(() =>
    dag({ dagId: "g" }, () => {
      taskGroup("grp", () => void empty("x", { priority_weight: 3 } as never), {
        defaultArgs: { depends_on_past: true } as never,
      })();
      task("t", () => 1).override({ queue: "", wait_for_downstream: true } as never)();
    }),
  );
  assert.match(error.message, /Airflow's priority_weight is priorityWeight here/);
  assert.match(error.message, /Airflow's depends_on_past is dependsOnPast here/);
  assert.match(error.message, /Airflow's wait_for_downstream is waitForDownstream here/);
  assert.match(error.message, /queue must be a non-empty string/);
});

test("a renamed option written with a Python value gets both hints", () => {
  const error = caught(() =>
    dag(
      {
        dagId: "d",
        schedule_interval: "timedelta(hours=6)",
        start_date: "datetime(2025, 1, 1)",
        defaultArgs: { retry_delay: { minutes: 5 } },
      } as never,
      () => {},
    ),
  );
  assert.match(error.message, /schedule_interval is schedule here; for an interval write \{ every: "6h" \}/);
  assert.match(
    error.message,
    /start_date is startDate here; for Airflow's datetime write an ISO date: "2025-01-01"/,
  );
  assert.match(
    error.message,
    /retry_delay is retryDelay here; for Airflow's timedelta write a duration string: "5m"/,
  );
});

test("hints: renames, options of another place, and what is not supported", () => {
  const task_ = ["retries", "retryDelay", "triggerRule", "poolSlots"];
  assert.equal(airflowHint("pool_slots", task_), "Airflow's pool_slots is poolSlots here");
  // Not an entry of the table: the camelCase form is enough.
  assert.equal(airflowHint("retry_delay", task_), "Airflow's retry_delay is retryDelay here");
  assert.equal(
    airflowHint("max_active_runs", ["maxActiveRuns"]),
    "Airflow's max_active_runs is maxActiveRuns here",
  );
  assert.match(airflowHint("start_date", task_)!, /is startDate here, an option of dag\(\)/);
  assert.match(airflowHint("bash_command", ["retries"])!, /is command here, an option of bash\(\)/);
  assert.match(airflowHint("env", ["retries"])!, /env is an option of bash\(\)/);
  assert.match(airflowHint("op_kwargs", task_)!, /pass arguments when calling the task/);
  assert.match(airflowHint("provide_context", task_)!, /getCurrentContext\(\)/);
  assert.match(airflowHint("sla", task_)!, /not supported/);
  assert.equal(
    airflowHint("email_on_failure", [...task_, "emailOnFailure"]),
    "Airflow's email_on_failure is emailOnFailure here",
  );
  assert.equal(
    airflowHint("on_failure_callback", [...task_, "onFailure"]),
    "Airflow's on_failure_callback is onFailure here",
  );
  assert.match(airflowHint("on_retry_callback", ["retries"])!, /is onRetry here, an option of a task/);
  assert.match(airflowHint("sla_miss_callback", ["onFailure"])!, /is deadline here, an option of dag\(\)/);
  assert.match(airflowHint("concurrency", ["maxActiveTasks"])!, /is maxActiveTasks here/);
  assert.equal(airflowHint("retry", task_), undefined);
  assert.equal(airflowHint("constructor", task_), undefined);
});

test("hints: schedules, durations and dates written as in Python", () => {
  for (const [value, every] of [
    ["1d", "1d"],
    ["30m", "30m"],
    ["2h", "2h"],
    ["@every 1d", "1d"],
    ["1h 30m", "1h30m"],
    ["timedelta(days=1)", "1d"],
    [{ hours: 6 }, "6h"],
  ] as const)
    assert.equal(scheduleHint(value), `for an interval write { every: "${every}" }`, JSON.stringify(value));
  assert.equal(scheduleHint("@daily"), undefined);
  assert.equal(scheduleHint("0 * * * *"), undefined);
  for (const [value, text] of [
    [{ minutes: 5 }, "5m"],
    [{ days: 1, hours: 2 }, "1d2h"],
    ["timedelta(hours=1, minutes=30)", "1h30m"],
    ["datetime.timedelta(seconds=90)", "1m30s"],
    ["pendulum.duration(days=2)", "2d"],
    ["timedelta(1)", "1d"],
  ] as const)
    assert.equal(durationHint(value), `for Airflow's timedelta write a duration string: "${text}"`);
  assert.equal(durationHint({ every: 5 }), undefined);
  assert.equal(durationHint("5 minutes"), undefined);
  assert.equal(dateHint("datetime(2025, 1, 1)"), `for Airflow's datetime write an ISO date: "2025-01-01"`);
  assert.equal(
    dateHint('pendulum.datetime(2025, 3, 9, 6, 30, tz="Europe/Amsterdam")'),
    `for Airflow's datetime write an ISO date: "2025-03-09T06:30" and timezone: "Europe/Amsterdam" on the DAG`,
  );
  assert.match(dateHint("days_ago(1)")!, /fixed date/);
  assert.equal(dateHint("2025-01-01"), undefined);
  // Through dag():
  const error = caught(() =>
    dag({ dagId: "d", startDate: "datetime(2025, 1, 1)", schedule: { days: 1 } } as never, () => {}),
  );
  assert.match(error.message, /startDate "datetime\(2025, 1, 1\)" is not a date: .*"2025-01-01"/);
  assert.match(
    error.message,
    /schedule \{"days":1\} is not a cron expression or preset: for an interval write \{ every: "1d" \}/,
  );
});

test("every Airflow name of the table is in docs/airflow-to-updraft.md", () => {
  const doc = readFileSync(new URL("../../../../docs/airflow-to-updraft.md", import.meta.url), "utf8");
  const missing = Object.keys(AIRFLOW_NAMES).filter((name) => !doc.includes(`\`${name}\``));
  assert.deepEqual(missing, [], "names of src/sdk/airflow-names.ts missing from the doc");
});
