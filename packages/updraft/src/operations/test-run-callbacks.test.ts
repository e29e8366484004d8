/**
 * `updraft dags test` (driveRun) runs DAG and deadline callbacks as the services would (issue 20):
 * its in-process triggerer claims the requests, its user-code child runs them, before the test ends.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { startTestRun } from "./test-run.ts";
import { callbackStore } from "../storage/callbacks.ts";
import { dagsHome, type DagsHome } from "../test-support/dags-home.ts";

const out = mkdtempSync(join(tmpdir(), "updraft-test-run-callbacks-"));
const DAG = `import { dag, task } from "updraft";
import { writeFileSync } from "node:fs";
const out = ${JSON.stringify(out)};
export default dag(
  {
    dagId: "late_and_failing",
    onFailure: (ctx) => writeFileSync(out + "/failure.json", JSON.stringify({ run: ctx.run_id, reason: ctx.reason, ti: ctx.ti?.task_id })),
    deadline: {
      reference: "queued_at",
      interval: "500ms",
      callback: { notifier: "file", notify: (ctx) => writeFileSync(out + "/deadline.json", JSON.stringify(ctx.deadline)) },
    },
  },
  () => {
    task("slow_then_fail", async () => {
      await new Promise((r) => setTimeout(r, 2000));
      throw new Error("no luck");
    })();
  },
);`;

let h: DagsHome;
before(async () => (h = await dagsHome({ "late.ts": DAG })));
after(async () => {
  await h.close();
  rmSync(out, { recursive: true, force: true });
});

test("dags test: a missed deadline's notifier and the DAG's onFailure run before the test ends", async () => {
  const run = await startTestRun(h.database, {
    dagId: "late_and_failing",
    logicalDate: new Date("2025-01-01T00:00:00Z"),
  });
  assert.equal(await h.drive(run, 2), "failed");
  const failure = JSON.parse(readFileSync(join(out, "failure.json"), "utf8")) as Record<string, unknown>;
  assert.deepEqual(failure, { run: run.run_id, reason: "task_failure", ti: "slow_then_fail" });
  const deadline = JSON.parse(readFileSync(join(out, "deadline.json"), "utf8")) as {
    index: number;
    time: string;
  };
  assert.equal(deadline.index, 0);
  const { callbacks, deadlines } = await callbackStore(h.database).forRun("late_and_failing", run.run_id);
  assert.deepEqual(callbacks.map((c) => [c.event, c.state]).sort(), [
    ["dag_failure", "success"],
    ["deadline_missed", "success"],
  ]);
  assert.deepEqual(
    deadlines.map((d) => d.missed),
    [1],
  );
});
