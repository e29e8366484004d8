/**
 * GET /ui/calendar/{dag_id} on the three databases: runs counted per UTC day (or hour) and state,
 * within the logical-date range asked for; manual runs without a logical date by their run_after.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { dagRunStore } from "../../storage/dag-runs.ts";
import { forEachApiDatabase } from "../../test-support/api.ts";

const DAGS = {
  "cal.ts": `import { dag, empty } from "updraft";
export default dag({ dagId: "cal", schedule: "@daily", startDate: "2024-01-01" }, () => { empty("only"); });`,
};

forEachApiDatabase("calendar", { dags: DAGS, allDatabases: true }, (get) => {
  test("runs per day and state, in the range; per hour; 404 for an unknown DAG; Viewer may read", async () => {
    const runs = dagRunStore(get().database);
    const make = async (runId: string, logicalDate: string, state: "success" | "failed" | null) => {
      const r = await get().call("trigger_dag_run", {
        path: { dag_id: "cal" },
        body: { dag_run_id: runId, logical_date: logicalDate },
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      if (state) await runs.setState((await runs.get("cal", runId))!.id, state);
    };
    await make("a", "2024-03-01T01:00:00Z", "success");
    await make("b", "2024-03-01T05:00:00Z", "success");
    await make("c", "2024-03-01T05:30:00Z", "failed");
    await make("d", "2024-03-03T00:00:00Z", null);
    await make("e", "2025-01-01T00:00:00Z", "success");
    const calendar = (query: Record<string, string>, as?: "Viewer") =>
      get().call("get_calendar", { path: { dag_id: "cal" }, query, ...(as ? { as } : {}) });
    const daily = await calendar(
      { logical_date_gte: "2024-01-01T00:00:00Z", logical_date_lte: "2024-12-31T23:59:59Z" },
      "Viewer",
    );
    assert.equal(daily.status, 200, JSON.stringify(daily.body));
    assert.deepEqual(daily.body, {
      total_entries: 3,
      dag_runs: [
        { date: "2024-03-01", state: "failed", count: 1 },
        { date: "2024-03-01", state: "success", count: 2 },
        { date: "2024-03-03", state: "queued", count: 1 },
      ],
    });
    const hourly = await calendar({
      granularity: "hourly",
      logical_date_gte: "2024-03-01T00:00:00Z",
      logical_date_lte: "2024-03-01T23:59:59Z",
    });
    assert.deepEqual(hourly.body.dag_runs, [
      { date: "2024-03-01T01:00:00Z", state: "success", count: 1 },
      { date: "2024-03-01T05:00:00Z", state: "failed", count: 1 },
      { date: "2024-03-01T05:00:00Z", state: "success", count: 1 },
    ]);
    assert.equal((await calendar({})).body.total_entries, 4, "no range: every run");
    const unknown = await get().call("get_calendar", { path: { dag_id: "nope" }, query: {} });
    assert.equal(unknown.status, 404);
    assert.equal((await calendar({ granularity: "weekly" })).status, 422);
  });
});
