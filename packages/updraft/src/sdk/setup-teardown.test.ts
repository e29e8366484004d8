/** Setup and teardown tasks as DAG files write them: options, asSetup/asTeardown, and the mistakes named. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { SerializedDagSchema } from "../core/serialized.ts";
import { bash, dag, empty, task } from "./index.ts";

const tasksOf = (d: ReturnType<typeof dag>) =>
  new Map(SerializedDagSchema.parse(d.serialize({ fileloc: "st.ts" })).tasks.map((t) => [t.taskId, t]));

test("setup: true and teardown: true on task(), bash() and empty(); a teardown's rule is all_done_setup_success", () => {
  const tasks = tasksOf(
    dag({ dagId: "st_options", defaultArgs: { triggerRule: "all_done" } }, () => {
      const create = task("create", () => "id", { setup: true })();
      const work = bash("work", { command: "echo work" });
      const drop = bash("drop", { command: "echo drop", teardown: true, onFailureFailDagrun: true });
      const note = empty("note", { teardown: true });
      create.before(work).before([drop, note]);
    }),
  );
  assert.equal(tasks.get("create")!.isSetup, true);
  assert.equal(tasks.get("work")!.isSetup, undefined, "plain tasks carry no role");
  assert.equal(tasks.get("work")!.triggerRule, "all_done", "defaultArgs apply to plain tasks");
  assert.equal(tasks.get("drop")!.isTeardown, true);
  assert.equal(tasks.get("drop")!.onFailureFailDagrun, true);
  assert.equal(tasks.get("drop")!.triggerRule, "all_done_setup_success", "not the DAG's default rule");
  assert.equal(tasks.get("note")!.isTeardown, true);
  assert.equal(tasks.get("note")!.onFailureFailDagrun, undefined);
});

test("asTeardown({ setups }) makes the setups and their edge; asSetup() marks a task", () => {
  const tasks = tasksOf(
    dag({ dagId: "st_methods" }, () => {
      const create = bash("create", { command: "echo create" });
      const load = bash("load", { command: "echo load" }).asSetup();
      const query = bash("query", { command: "echo query" });
      const drop = bash("drop", { command: "echo drop" });
      create.before(query).before(drop.asTeardown({ setups: [create, load] }));
    }),
  );
  assert.equal(tasks.get("create")!.isSetup, true);
  assert.equal(tasks.get("load")!.isSetup, true);
  assert.equal(tasks.get("drop")!.isTeardown, true);
  assert.equal(tasks.get("drop")!.triggerRule, "all_done_setup_success");
  assert.deepEqual(tasks.get("drop")!.upstream, ["create", "load", "query"]);
});

test("the mistakes are named: both roles, a teardown's own trigger rule, roles in defaultArgs, onFailureFailDagrun alone", () => {
  assert.throws(
    () => dag({ dagId: "st_both" }, () => void bash("x", { command: "true", setup: true, teardown: true })),
    /task "x".*cannot be both a setup and a teardown/s,
  );
  assert.throws(
    () =>
      dag(
        { dagId: "st_rule" },
        () => void bash("x", { command: "true", teardown: true, triggerRule: "all_success" }),
      ),
    /a teardown's trigger rule is all_done_setup_success.*remove triggerRule/,
  );
  assert.throws(
    () =>
      dag({ dagId: "st_rule2" }, () => {
        bash("x", { command: "true", triggerRule: "one_success" }).asTeardown();
      }),
    /asTeardown\(\).*remove triggerRule/,
  );
  assert.throws(
    () => dag({ dagId: "st_defaults", defaultArgs: { teardown: true } }, () => void empty("x")),
    /defaultArgs has teardown: .*set on the task itself/,
  );
  assert.throws(
    () => dag({ dagId: "st_alone" }, () => void empty("x", { onFailureFailDagrun: true })),
    /onFailureFailDagrun is for teardowns/,
  );
  assert.throws(
    () =>
      dag({ dagId: "st_flip" }, () => {
        empty("x", { teardown: true }).asSetup();
      }),
    /asSetup\(\): this task is a teardown/,
  );
});
