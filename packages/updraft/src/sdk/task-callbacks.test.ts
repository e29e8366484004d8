/**
 * Task callback options at definition time (issue 20): what they take, the errors for what they do
 * not, inheritance from defaultArgs, and what the serialized task records of them.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { DagDefinitionError } from "../core/errors.ts";
import { SerializedDagSchema } from "../core/serialized.ts";
import { bash, dag, empty, task, type CallbackContext, type Notifier } from "./index.ts";

const noop = () => undefined;
const notifier: Notifier = { notifier: "mine", notify: noop };

function definitionError(fn: () => unknown): DagDefinitionError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof DagDefinitionError, String(error));
    return error;
  }
  assert.fail("expected a DagDefinitionError");
}

test("callback options take a function, a notifier or a list; the serialized task counts them", () => {
  const d = dag({ dagId: "cbs", defaultArgs: { onFailure: noop, email: "a@x.io; b@x.io" } }, () => {
    task("t", noop, {
      onSuccess: [noop, async (ctx: CallbackContext) => void ctx.exception, notifier],
      onRetry: notifier,
      emailOnRetry: false,
    })();
    bash("b", { command: "true", onExecute: noop, onSkipped: [noop] });
    empty("e", { onFailure: [], email: [] });
  });
  const s = SerializedDagSchema.parse(d.serialize({ fileloc: "cbs.ts" }));
  const byId = Object.fromEntries(s.tasks.map((t) => [t.taskId, t]));
  assert.deepEqual(byId.t!.callbacks, { onSuccess: 3, onFailure: 1, onRetry: 1 });
  assert.deepEqual(byId.t!.email, ["a@x.io", "b@x.io"]);
  assert.equal(byId.t!.emailOnFailure, true, "Airflow's default: alerts on when email is set");
  assert.equal(byId.t!.emailOnRetry, false);
  assert.deepEqual(byId.b!.callbacks, { onExecute: 1, onFailure: 1, onSkipped: 1 });
  // Its own empty list and email replace what defaultArgs gave: nothing is recorded.
  assert.equal(byId.e!.callbacks, undefined);
  assert.equal(byId.e!.email, undefined);
  // The live functions stay on the in-memory task.
  assert.equal(d.getTask("t")!.options.onRetry, notifier);
});

test("a DAG without callbacks serializes as before (no new keys)", () => {
  const d = dag({ dagId: "plain" }, () => void task("t", noop)());
  const t = d.serialize({ fileloc: "plain.ts" }).tasks[0]!;
  for (const key of ["callbacks", "email", "emailOnFailure", "emailOnRetry"]) assert.ok(!(key in t), key);
});

test("a callback that is not a function or notifier names the DAG, the task and the option", () => {
  const error = definitionError(() =>
    dag({ dagId: "bad" }, () => void task("t", noop, { onFailure: "alert" as never })()),
  );
  assert.match(error.message, /dag "bad"/);
  assert.match(error.message, /task "t"/);
  assert.match(error.message, /onFailure must be a function of the context or a notifier/);
  const inList = definitionError(() =>
    dag({ dagId: "bad" }, () => void bash("b", { command: "true", onRetry: [noop, 3] as never })),
  );
  assert.match(inList.message, /task "b".*onRetry\[1\] must be a function/s);
});

test("callback and email errors come with the DAG's other problems, all at once", () => {
  const error = definitionError(() =>
    dag({ dagId: "many", defaultArgs: { onSuccess: { notify: 1 } as never } }, () => {
      task("t", noop, { onSkipped: 1 as never, retries: -1, email: ["not an address"] })();
      empty("e", { emailOnFailure: "yes" as never });
    }),
  );
  assert.match(error.message, /problems:/);
  for (const part of [
    /defaultArgs.*onSuccess must be a function/,
    /onSkipped must be a function/,
    /retries must be a whole number/,
    /email must be a list of addresses, got "not an address"/,
    /emailOnFailure must be true or false/,
  ])
    assert.match(error.message, part);
});

test("Airflow's spellings point to the options", () => {
  const error = definitionError(() =>
    dag(
      { dagId: "af" },
      () => void task("t", noop, { on_failure_callback: noop, email_on_retry: true } as never)(),
    ),
  );
  assert.match(error.message, /Airflow's on_failure_callback is onFailure here/);
  assert.match(error.message, /Airflow's email_on_retry is emailOnRetry here/);
});
