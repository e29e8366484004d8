/**
 * DAG callbacks and deadlines as the SDK takes them (issue 20): what the serialized form records
 * (the events and the deadlines, never the functions), and the definition errors, gathered.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { SerializedDagSchema } from "../core/serialized.ts";
import { DagDefinitionError } from "../core/errors.ts";
import { dag, empty, type CallbackContext, type DagOptions, type Notifier } from "./index.ts";

const notifier: Notifier = { notifier: "test", notify: () => {} };
const build = (options: Omit<DagOptions, "dagId">) => dag({ dagId: "cb", ...options }, () => void empty("e"));

test("the serialized DAG records which events have callbacks and its deadlines, not the functions", () => {
  const onFailure = (ctx: CallbackContext) => void ctx.run_id;
  const d = build({
    timezone: "Europe/Amsterdam",
    onFailure: [onFailure, notifier],
    deadline: [
      { reference: "queued_at", interval: "30m", callback: notifier },
      { reference: "DAGRUN_LOGICAL_DATE", interval: 90, callback: onFailure },
      { reference: { fixedDatetime: "2030-01-01T12:00" }, interval: "0s", callback: onFailure },
    ],
  });
  const s = d.serialize({ fileloc: "cb.ts" });
  assert.deepEqual(s.callbackEvents, ["dag_failure"]);
  assert.deepEqual(s.deadlines, [
    { index: 0, reference: "queued_at", fixed: null, interval: 1800 },
    { index: 1, reference: "logical_date", fixed: null, interval: 90 },
    // A fixed time without an offset is read in the DAG's timezone.
    { index: 2, reference: "fixed_datetime", fixed: "2030-01-01T11:00:00.000Z", interval: 0 },
  ]);
  SerializedDagSchema.parse(JSON.parse(JSON.stringify(s)));
  assert.deepEqual(d.callbacksFor("dag_failure"), [onFailure, notifier]);
  assert.deepEqual(d.callbacksFor("dag_success"), []);
  assert.deepEqual(d.deadlineCallbacks(1), [onFailure]);
  assert.deepEqual(d.deadlineCallbacks(7), []);
});

test("a DAG without callbacks serializes as before (no new keys, the same hash)", () => {
  const s = build({}).serialize({ fileloc: "cb.ts" });
  assert.equal("callbackEvents" in s, false);
  assert.equal("deadlines" in s, false);
});

test("one deadline alone, and an async onSuccess", () => {
  const s = build({
    onSuccess: async () => {},
    deadline: { reference: "logical_date", interval: "1h", callback: notifier },
  }).serialize({ fileloc: "cb.ts" });
  assert.deepEqual(s.callbackEvents, ["dag_success"]);
  assert.equal(s.deadlines?.length, 1);
});

test("definition errors name the option and the fix, all of them at once", () => {
  const error = (() => {
    try {
      build({
        onFailure: "page me" as never,
        onSuccess: [notifier, 3 as never],
        deadline: [
          { reference: "start_date" as never, interval: "1h", callback: notifier },
          { reference: "queued_at", interval: "soon", callback: notifier },
          { reference: "queued_at", callback: notifier } as never,
          { reference: "queued_at", interval: "1h" } as never,
          "1h" as never,
        ],
      });
    } catch (e) {
      return e;
    }
    return undefined;
  })();
  assert.ok(error instanceof DagDefinitionError);
  const m = error.message;
  assert.match(m, /onFailure must be a function of the context or a notifier/);
  assert.match(m, /onSuccess\[1\] must be a function of the context or a notifier/);
  assert.match(m, /deadline\[0\]\.reference "start_date" is not a deadline reference: write "logical_date"/);
  assert.match(m, /deadline\[1\]\.interval "soon" is not a duration/);
  assert.match(m, /deadline\[2\]\.interval is missing/);
  assert.match(m, /deadline\[3\]\.callback is missing/);
  assert.match(m, /deadline\[4\] must be \{ reference, interval, callback \}/);
});

test("Airflow's names get their hint", () => {
  assert.throws(
    () => dag({ dagId: "cb", on_failure_callback: () => {} } as never, () => void empty("e")),
    /on_failure_callback is onFailure here/,
  );
  assert.throws(
    () => dag({ dagId: "cb", sla_miss_callback: () => {} } as never, () => void empty("e")),
    /sla_miss_callback is deadline here/,
  );
});
