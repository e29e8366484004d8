/**
 * DAG callbacks and a deadline in a real browser (issue 20): `updraft standalone` (scheduler, triggerer,
 * webserver) runs a DAG whose run misses a 1-second deadline and fails; the triggerer runs the
 * deadline's callback and the DAG's onFailure (which throws). The Runs tab, with the run selected,
 * shows the deadline missed and each callback's outcome, the failed one with its error.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { adminSession, eventually, finishedRun, missing } from "./harness.ts";

const DAG = `import { bash, dag } from "updraft";

export default dag(
  {
    dagId: "watched",
    isPausedUponCreation: false,
    onFailure: () => {
      throw new Error("the pager is down");
    },
    deadline: { reference: "queued_at", interval: "1s", callback: (ctx) => console.log("late", ctx.run_id) },
  },
  () => {
    bash("slow_then_fail", { command: "sleep 3; exit 1" });
  },
);
`;

const s = adminSession({ dagFiles: { "watched.ts": DAG } });

test(
  "the run's deadline (missed) and callbacks (with the failed one's error) show on the Runs tab",
  { skip: missing },
  async () => {
    const runId = await finishedRun(s.server, "watched", { tasks: 1, state: "failed", runId: "late_run" });
    const path = `/ui/dags/watched/dagRuns/${runId}/callbacks`;
    const answer = await eventually(
      async () => {
        const r = await s.server.apiGet(path);
        assert.equal(r.callbacks.length, 2);
        assert.ok(r.callbacks.every((c: { state: string }) => c.state === "success" || c.state === "failed"));
        return r;
      },
      60_000,
      "the triggerer ran both callbacks",
    );
    assert.deepEqual(
      answer.deadlines.map((d: { status: string }) => d.status),
      ["missed"],
    );
    await s.page.goto(`${s.server.base}/dags/watched?tab=runs&run=${runId}`);
    const panel = s.page.getByRole("region", { name: `Callbacks and deadlines of ${runId}` });
    await panel.waitFor();
    await panel.getByText("missed", { exact: true }).waitFor();
    await panel.getByText("the pager is down").first().waitFor();
    const text = await panel.textContent();
    assert.match(text ?? "", /onFailure/);
    assert.match(text ?? "", /deadline missed/);
  },
);
