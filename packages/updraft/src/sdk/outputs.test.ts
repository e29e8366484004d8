/** multipleOutputs as DAG files write it: stored with the task, kept by override(), refused where it means nothing. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { SerializedDagSchema } from "../core/serialized.ts";
import { bash, dag, task } from "./index.ts";

test("multipleOutputs is stored with the task; override() keeps or changes it", () => {
  const stats = task("stats", () => ({ rows: 1 }), { multipleOutputs: true, retries: 2 });
  const d = dag({ dagId: "outputs" }, () => {
    stats();
    stats.override({ taskId: "plain", multipleOutputs: false })();
    stats.override({ taskId: "kept" })();
  });
  const tasks = new Map(
    SerializedDagSchema.parse(d.serialize({ fileloc: "o.ts" })).tasks.map((t) => [t.taskId, t]),
  );
  assert.equal(tasks.get("stats")!.multipleOutputs, true);
  assert.equal(tasks.get("stats")!.retries, 2);
  assert.equal(tasks.get("plain")!.multipleOutputs, undefined);
  assert.equal(tasks.get("kept")!.multipleOutputs, true);
});

test("multipleOutputs takes true or false, and only TypeScript tasks take it", () => {
  assert.throws(
    () => task("x", () => ({}), { multipleOutputs: "yes" as never }),
    /task "x".*multipleOutputs must be true or false/s,
  );
  assert.throws(
    () =>
      dag(
        { dagId: "outputs_bash" },
        () => void bash("b", { command: "true", multipleOutputs: true } as never),
      ),
    /unknown option "multipleOutputs"/,
  );
});
