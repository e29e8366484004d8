/**
 * Ready-made sensors as DAG files define them: what they serialize (kind, templated fields, sensor
 * settings), their definition errors naming the option, and Airflow spellings' hints. Their checks
 * run for real in src/scheduler/ready-sensors-run.test.ts.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { DagDefinitionError } from "../core/errors.ts";
import {
  dag,
  dateTimeSensor,
  externalTaskSensor,
  fileSensor,
  httpSensor,
  sqlSensor,
  timeDeltaSensor,
  timeSensor,
} from "./index.ts";
import { truthy } from "./ready-sensors.ts";

const serialized = (body: () => void) => dag({ dagId: "d" }, body).serialize({ fileloc: "d.ts" });
const taskOf = (body: () => void, id: string) => serialized(body).tasks.find((t) => t.taskId === id)!;

function problems(body: () => void): string {
  try {
    dag({ dagId: "d" }, body);
  } catch (error) {
    assert.ok(error instanceof DagDefinitionError, String(error));
    return error.message;
  }
  assert.fail("expected a definition error");
}

test("each ready-made sensor is a sensor task with its templated fields and sensor settings", () => {
  const s = serialized(() => {
    fileSensor("file", {
      filepath: "/data/{{ ds }}/*.csv",
      recursive: true,
      mode: "reschedule",
      pokeInterval: "30s",
    });
    httpSensor("http", { endpoint: "/health/{{ ds }}", responseCheck: (r) => r.status === 200, retries: 2 });
    sqlSensor("sql", { connId: "db", sql: "SELECT 1 WHERE '{{ ds }}' > ''", success: (v) => v === 1 });
    timeSensor("time", { targetTime: "06:30" });
    dateTimeSensor("datetime", { targetTime: "{{ data_interval_end }}", deferrable: true });
    timeDeltaSensor("delta", { delta: "1h" });
    externalTaskSensor("ext", { externalDagId: "up", externalTaskId: "load", executionDelta: "1d" });
  });
  const byId = Object.fromEntries(s.tasks.map((t) => [t.taskId, t]));
  for (const t of s.tasks) assert.equal(t.kind, "sensor", t.taskId);
  assert.deepEqual(byId.file!.templateFields, { filepath: "/data/{{ ds }}/*.csv", recursive: true });
  assert.equal(byId.file!.sensor!.mode, "reschedule");
  assert.equal(byId.file!.sensor!.pokeInterval, 30);
  assert.equal(byId.http!.templateFields.endpoint, "/health/{{ ds }}");
  assert.equal(byId.http!.retries, 2);
  assert.equal(byId.sql!.templateFields.sql, "SELECT 1 WHERE '{{ ds }}' > ''");
  assert.deepEqual(byId.time!.templateFields, { targetTime: "06:30" });
  assert.equal(byId.datetime!.sensor!.deferrable, true);
  assert.deepEqual(byId.ext!.templateFields, { externalDagId: "up", externalTaskIds: ["load"] });
  assert.equal(byId.ext!.sensor!.timeout, 7 * 86_400);
});

test("sensors take task options and chain like other tasks", () => {
  const t = taskOf(() => {
    const wait = fileSensor("wait", { filepath: "/x", pool: "sensors", softFail: true, timeout: "1h" });
    const after = httpSensor("after", { endpoint: "/" });
    wait.before(after);
  }, "after");
  assert.deepEqual(t.upstream, ["wait"]);
});

test("definition errors name the option", () => {
  assert.match(
    problems(() => void fileSensor("f", {} as never)),
    /task "f": filepath must be a non-empty string/,
  );
  assert.match(
    problems(() => void httpSensor("h", { responseCheck: 200 as never })),
    /task "h": responseCheck must be a function/,
  );
  assert.match(
    problems(() => void sqlSensor("s", { connId: "db" } as never)),
    /sql must be a non-empty string/,
  );
  assert.match(
    problems(() => void timeSensor("t", { targetTime: "25:00" })),
    /targetTime must be "HH:MM"/,
  );
  assert.match(
    problems(() => void dateTimeSensor("t", { targetTime: "tomorrow" })),
    /targetTime must be an ISO 8601/,
  );
  assert.match(
    problems(() => void timeDeltaSensor("t", { delta: "soon" as never })),
    /task "t": delta: /,
  );
  assert.match(
    problems(() => void externalTaskSensor("e", { externalDagId: "up", allowedStates: ["done"] })),
    /allowedStates has "done", not a state of a DAG run/,
  );
  assert.match(
    problems(
      () =>
        void externalTaskSensor("e", {
          externalDagId: "up",
          externalTaskId: "t",
          allowedStates: ["success"],
          failedStates: ["success"],
        }),
    ),
    /a state is one or the other/,
  );
  assert.match(
    problems(
      () =>
        void externalTaskSensor("e", {
          externalDagId: "up",
          executionDelta: "1h",
          executionDateFn: (d) => d,
        }),
    ),
    /executionDelta or executionDateFn, not both/,
  );
  assert.match(
    problems(() => void fileSensor("f", { filepath: "/x", mode: "wait" as never })),
    /mode must be "poke"/,
  );
});

test("Airflow spellings get their name here", () => {
  const message = problems(
    () =>
      void httpSensor("h", {
        http_conn_id: "api",
        response_check: () => true,
        poke_interval: 5,
        soft_fail: true,
      } as never),
  );
  assert.match(message, /Airflow's http_conn_id is httpConnId here/);
  assert.match(message, /Airflow's response_check is responseCheck here/);
  assert.match(message, /Airflow's poke_interval is pokeInterval here/);
  assert.match(message, /Airflow's soft_fail is softFail here/);
  const ext = problems(
    () =>
      void externalTaskSensor("e", {
        external_dag_id: "up",
        external_task_id: "t",
        execution_delta: "1h",
        allowed_states: ["success"],
        failed_states: ["failed"],
      } as never),
  );
  for (const name of ["externalDagId", "externalTaskId", "executionDelta", "allowedStates", "failedStates"])
    assert.match(ext, new RegExp(`is ${name} here`));
  assert.match(
    problems(() => void timeSensor("t", { target_time: "06:00" } as never)),
    /target_time is targetTime here/,
  );
  assert.match(
    problems(() => void fileSensor("f", { filepath: "/x", fs_conn_id: "fs" } as never)),
    /fs_conn_id/,
  );
  // An Airflow sensor option on a plain task says where it belongs.
  assert.match(
    problems(
      () =>
        void dag(
          { dagId: "x" },
          () => void fileSensor("f", { filepath: "/x", poke_interval: "1s" } as never),
        ),
    ),
    /pokeInterval/,
  );
});

test("a cell is truthy as Airflow's SqlSensor reads it, with numbers drivers return as text", () => {
  for (const v of [1, "1", "yes", true, 2n, "0.5"]) assert.equal(truthy(v), true, String(v));
  for (const v of [0, "0", "0.0", "", null, undefined, false, 0n]) assert.equal(truthy(v), false, String(v));
});
