/** triggerDagRun(), externalTaskMarker(), http(), sql() and task.bash: what they serialize, their defaults, and their definition errors. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { DagDefinitionError } from "../core/errors.ts";
import { dag, externalTaskMarker, http, sql, task, triggerDagRun } from "./index.ts";

test("triggerDagRun serializes Airflow's defaults as template fields", () => {
  const d = dag({ dagId: "p" }, () => {
    triggerDagRun("go", {
      dagId: "child",
      conf: { day: "{{ ds }}" },
      logicalDate: new Date("2025-01-02T00:00:00Z"),
    });
  });
  const [task] = d.serialize({ fileloc: "p.ts" }).tasks;
  assert.equal(task!.kind, "trigger_dagrun");
  assert.deepEqual(task!.templateFields, {
    dagId: "child",
    conf: { day: "{{ ds }}" },
    logicalDate: "2025-01-02T00:00:00.000Z",
    triggerRunId: null,
    waitForCompletion: false,
    pokeInterval: 5,
    deferrable: false,
    resetDagRun: false,
    allowedStates: ["success"],
    failedStates: ["failed"],
  });
});

test("externalTaskMarker defaults to the run's logical date and a depth of 10", () => {
  const d = dag({ dagId: "p" }, () => {
    externalTaskMarker("mark", { externalDagId: "other", externalTaskId: "wait", retries: 2 });
  });
  const [task] = d.serialize({ fileloc: "p.ts" }).tasks;
  assert.equal(task!.kind, "external_task_marker");
  assert.equal(task!.retries, 2);
  assert.deepEqual(task!.templateFields, {
    externalDagId: "other",
    externalTaskId: "wait",
    logicalDate: "{{ logical_date }}",
    recursionDepth: 10,
  });
});

test("their mistakes are definition errors naming the fix", () => {
  const problems = (build: () => void) => {
    try {
      dag({ dagId: "p" }, build);
    } catch (error) {
      assert.ok(error instanceof DagDefinitionError);
      return error.message;
    }
    return assert.fail("expected a definition error");
  };
  assert.match(
    problems(() => void triggerDagRun("go", { trigger_dag_id: "c" } as never)),
    /unknown option "trigger_dag_id".*dagId/s,
  );
  assert.match(
    problems(() => void triggerDagRun("go", { dagId: "c", pokeInterval: "0s" })),
    /pokeInterval must be more than 0/,
  );
  assert.match(
    problems(() => void triggerDagRun("go", { dagId: "c", allowedStates: "success" as never })),
    /allowedStates must be a list of run states/,
  );
  assert.match(
    problems(
      () => void externalTaskMarker("m", { externalDagId: "o", externalTaskId: "t", recursionDepth: 0 }),
    ),
    /recursionDepth must be a whole number of at least 1/,
  );
});

test("http(), sql() and task.bash serialize their kinds and template fields", () => {
  const d = dag({ dagId: "ops" }, () => {
    http("call", { connId: "api", endpoint: "/x/{{ ds }}", data: { a: "{{ ds }}" }, retries: 2 });
    sql("query", { connId: "db", sql: "SELECT $1", parameters: ["{{ ds }}"] });
    const say = task.bash("say", (who: string) => `echo ${who}`, { env: { A: "{{ ds }}" }, cwd: "/tmp" });
    say("me");
  });
  const tasks = d.serialize({ fileloc: "ops.ts" }).tasks;
  const byId = Object.fromEntries(tasks.map((t) => [t.taskId, t]));
  assert.equal(byId.call!.kind, "http");
  assert.equal(byId.call!.retries, 2);
  assert.deepEqual(byId.call!.templateFields, {
    method: "POST",
    endpoint: "/x/{{ ds }}",
    data: { a: "{{ ds }}" },
    headers: {},
  });
  assert.equal(byId.query!.kind, "sql");
  assert.deepEqual(byId.query!.templateFields, { sql: "SELECT $1", parameters: ["{{ ds }}"] });
  assert.equal(byId.say!.kind, "task_bash");
  assert.deepEqual(byId.say!.templateFields, { env: { A: "{{ ds }}" }, cwd: "/tmp" });
  assert.deepEqual(byId.say!.args, ["me"]);
});

test("http() and sql() mistakes name the fix, Airflow's spellings included", () => {
  const problems = (build: () => void) => {
    try {
      dag({ dagId: "p" }, build);
    } catch (error) {
      assert.ok(error instanceof DagDefinitionError);
      return error.message;
    }
    return assert.fail("expected a definition error");
  };
  assert.match(
    problems(() => void http("h", { http_conn_id: "a" } as never)),
    /http_conn_id.*conn_?id/is,
  );
  assert.match(
    problems(() => void http("h", { responseCheck: "yes" } as never)),
    /responseCheck must be a function/,
  );
  assert.match(
    problems(() => void sql("s", { sql: "SELECT 1" } as never)),
    /sql\(\) needs connId/,
  );
  assert.match(
    problems(() => void sql("s", { connId: "c", sql: 3 } as never)),
    /sql must be a statement or a list/,
  );
  assert.match(
    problems(() => void sql("s", { connId: "c", sql: "x", split_statements: true } as never)),
    /split_statements.*split/s,
  );
});
