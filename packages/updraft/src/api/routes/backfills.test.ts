import assert from "node:assert/strict";
import { test } from "node:test";
import { dagRunStore } from "../../storage/dag-runs.ts";
import { forEachApiDatabase } from "../../test-support/api.ts";

const DAGS = {
  "daily.ts": `import { dag, empty } from "updraft";
export default dag({ dagId: "daily", schedule: "@daily", startDate: "2024-01-01", params: { size: { type: "integer", default: 1 } } }, () => { empty("only"); });`,
  "past.ts": `import { dag, empty } from "updraft";
export default dag({ dagId: "with_past", schedule: "@daily", startDate: "2024-01-01" }, () => { empty("p", { dependsOnPast: true }); });`,
  "manual.ts": `import { dag, empty } from "updraft";
export default dag({ dagId: "manual_only", schedule: null }, () => { empty("m"); });`,
};

const day = (d: string) => `2024-01-${d}T00:00:00.000Z`;

forEachApiDatabase("backfills", { dags: DAGS }, (get) => {
  const dryRun = (body: Record<string, unknown>, as?: "Viewer" | "User") =>
    get().call("create_backfill_dry_run", { body, ...(as ? { as } : {}) });
  const dates = (r: { body: { backfills: { logical_date: string }[] } }) =>
    r.body.backfills.map((b) => b.logical_date);

  test("dry run: the logical dates of the DAG's timetable in the range, oldest first or backwards", async () => {
    const r = await dryRun({ dag_id: "daily", from_date: day("01"), to_date: day("05") }, "User");
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(dates(r), [day("01"), day("02"), day("03"), day("04"), day("05")]);
    assert.equal(r.body.total_entries, 5);
    assert.deepEqual(r.body.backfills[0], {
      logical_date: day("01"),
      partition_key: null,
      partition_date: null,
    });
    const back = await dryRun({
      dag_id: "daily",
      from_date: day("01"),
      to_date: day("03"),
      run_backwards: true,
    });
    assert.deepEqual(dates(back), [day("03"), day("02"), day("01")]);
  });

  test("dry run: existing runs are skipped or redone by reprocess_behavior; runs in flight never", async () => {
    const runs = dagRunStore(get().database);
    const make = async (d: string) => {
      const r = await get().call("trigger_dag_run", {
        path: { dag_id: "daily" },
        body: { dag_run_id: `run_${d}`, logical_date: day(d) },
      });
      assert.equal(r.status, 200);
      return (await runs.get("daily", `run_${d}`))!;
    };
    await runs.setState((await make("02")).id, "success");
    await runs.setState((await make("03")).id, "failed");
    await make("04"); // queued: in flight
    const range = { dag_id: "daily", from_date: day("01"), to_date: day("05") };
    assert.deepEqual(dates(await dryRun(range)), [day("01"), day("05")]);
    assert.deepEqual(dates(await dryRun({ ...range, reprocess_behavior: "failed" })), [
      day("01"),
      day("03"),
      day("05"),
    ]);
    assert.deepEqual(dates(await dryRun({ ...range, reprocess_behavior: "completed" })), [
      day("01"),
      day("02"),
      day("03"),
      day("05"),
    ]);
  });

  test("dry run refusals: unknown DAG 404; no schedule, depends_on_past, future dates, bad conf 422; Viewer 403", async () => {
    const unknown = await dryRun({ dag_id: "nope", from_date: day("01"), to_date: day("02") });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.detail, "Could not find dag nope");

    const manual = await dryRun({ dag_id: "manual_only", from_date: day("01"), to_date: day("02") });
    assert.equal(manual.status, 422);
    assert.match(manual.body.detail[0].msg, /manual_only has no schedule/);

    const past = await dryRun({ dag_id: "with_past", from_date: day("01"), to_date: day("02") });
    assert.equal(past.status, 422);
    assert.match(past.body.detail[0].msg, /depends_on_past=True.*reprocess/);
    const pastBack = await dryRun({
      dag_id: "with_past",
      from_date: day("01"),
      to_date: day("02"),
      run_backwards: true,
      reprocess_behavior: "completed",
    });
    assert.equal(pastBack.status, 422);
    assert.match(pastBack.body.detail[0].msg, /reverse/);
    const pastOk = await dryRun({
      dag_id: "with_past",
      from_date: day("01"),
      to_date: day("02"),
      reprocess_behavior: "failed",
    });
    assert.deepEqual(dates(pastOk), [day("01"), day("02")]);

    const future = await dryRun({
      dag_id: "daily",
      from_date: "2999-01-01T00:00:00Z",
      to_date: "2999-01-02T00:00:00Z",
    });
    assert.equal(future.status, 422);
    assert.match(future.body.detail[0].msg, /future dates/);

    const conf = await dryRun({
      dag_id: "daily",
      from_date: day("01"),
      to_date: day("02"),
      dag_run_conf: { size: "big" },
    });
    assert.equal(conf.status, 422);
    assert.match(conf.body.detail[0].msg, /param "size"/);

    const missing = await dryRun({ dag_id: "daily", from_date: day("01") });
    assert.equal(missing.status, 422);
    assert.equal(
      (await dryRun({ dag_id: "daily", from_date: day("01"), to_date: day("02") }, "Viewer")).status,
      403,
    );
  });

  test("without a backfill table: none to list or get; creating one is refused and creates no runs", async () => {
    const list = await get().call("list_backfills", { query: { dag_id: "daily" }, as: "Viewer" });
    assert.equal(list.status, 200);
    assert.deepEqual(list.body, { backfills: [], total_entries: 0 });
    assert.equal((await get().call("list_backfills", { query: {} })).status, 422, "dag_id is required");
    assert.equal((await get().call("get_backfill", { path: { backfill_id: 1 } })).status, 404);
    for (const op of ["pause_backfill", "unpause_backfill", "cancel_backfill"]) {
      const r = await get().call(op, { path: { backfill_id: 7 } });
      assert.equal(r.status, 404, op);
      assert.equal(r.body.detail, "Could not find backfill with id 7");
    }
    const before = (await dagRunStore(get().database).list({ dagId: "daily" })).length;
    const create = await get().call("create_backfill", {
      body: { dag_id: "daily", from_date: day("10"), to_date: day("12") },
    });
    assert.equal(create.status, 400);
    assert.match(create.body.detail, /dry_run/);
    assert.equal((await dagRunStore(get().database).list({ dagId: "daily" })).length, before);
    const unknown = await get().call("create_backfill", {
      body: { dag_id: "nope", from_date: day("10"), to_date: day("12") },
    });
    assert.equal(unknown.status, 404);
    const viewer = await get().call("create_backfill", {
      body: { dag_id: "daily", from_date: day("10"), to_date: day("12") },
      as: "Viewer",
    });
    assert.equal(viewer.status, 403);
  });
});
