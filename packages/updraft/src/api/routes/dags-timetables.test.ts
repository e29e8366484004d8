/**
 * What the API says about DAGs on Airflow 3's timetables: timetable_summary (Airflow's short form)
 * and timetable_description (the human one the UI shows), max_active_runs of @continuous, and the
 * next run of a cron trigger with an interval.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { pino } from "pino";
import { createDueRuns } from "../../scheduler/create-runs.ts";
import { forEachApiDatabase } from "../../test-support/api.ts";

const DAGS = {
  "twice.ts": `import { dag, empty, multipleCronTriggerTimetable } from "updraft";
export default dag({ dagId: "twice", schedule: multipleCronTriggerTimetable(["0 3 * * *", "30 15 * * 1-5"], { timezone: "Europe/Amsterdam" }) }, () => { empty("a"); });`,
  "weekly.ts": `import { dag, empty, cronTriggerTimetable } from "updraft";
export default dag({ dagId: "weekly", schedule: cronTriggerTimetable("0 18 * * 5", { interval: "4d9h" }), startDate: "2099-01-01", catchup: true }, () => { empty("a"); });`,
  "forever.ts": `import { dag, empty } from "updraft";
export default dag({ dagId: "forever", schedule: "@continuous" }, () => { empty("a"); });`,
  "grid.ts": `import { dag, empty } from "updraft";
export default dag({ dagId: "grid", schedule: { every: "6h", anchor: "2025-01-01T03:00Z" } }, () => { empty("a"); });`,
};

forEachApiDatabase("DAG timetables in the API", { dags: DAGS }, (get) => {
  const details = async (dagId: string) => {
    const r = await get().call("get_dag_details", { path: { dag_id: dagId } });
    assert.equal(r.status, 200);
    return r.body;
  };

  test("timetable_summary and timetable_description of each timetable", async () => {
    const shown: Record<string, [string, string]> = {};
    for (const dagId of Object.keys(DAGS).map((f) => f.replace(".ts", ""))) {
      const d = await details(dagId);
      shown[dagId] = [d.timetable_summary, d.timetable_description];
    }
    assert.deepEqual(shown, {
      twice: [
        "0 3 * * *, 30 15 * * 1-5",
        "every day at 03:00; and at 15:30, Monday through Friday, Europe/Amsterdam",
      ],
      weekly: ["0 18 * * 5", "at 18:00, on Friday, UTC"],
      forever: ["@continuous", "continuously: a new run as soon as the last one ends"],
      grid: [
        "every 21600s from 2025-01-01T03:00:00.000Z",
        "every 6 hours, counted from 2025-01-01T03:00:00Z",
      ],
    });
    const list = await get().call("get_dags", {});
    const twice = list.body.dags.find((d: { dag_id: string }) => d.dag_id === "twice");
    assert.equal(twice.timetable_description, shown.twice![1], "listings say the same");
    assert.equal((await details("twice")).timezone, "Europe/Amsterdam", "the timetable's zone is the DAG's");
  });

  test("@continuous allows one active run; a cron trigger's next run ends at its tick", async () => {
    assert.equal((await details("forever")).max_active_runs, 1);
    // The scheduler stores each DAG's next run (the DAGs are paused, so it creates none).
    await createDueRuns(get().database, { now: new Date().toISOString(), log: pino({ level: "silent" }) });
    const weekly = await details("weekly");
    // 2099-01-02 is a Friday; the run covers Monday 09:00 to Friday 18:00.
    assert.equal(weekly.next_dagrun_run_after, "2099-01-02T18:00:00.000Z");
    assert.equal(weekly.next_dagrun_data_interval_start, "2098-12-29T09:00:00.000Z");
    assert.equal(weekly.next_dagrun_data_interval_end, "2099-01-02T18:00:00.000Z");
    assert.equal(weekly.next_dagrun_logical_date, "2098-12-29T09:00:00.000Z");
  });
});
