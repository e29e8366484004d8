import assert from "node:assert/strict";
import { test } from "node:test";
import { backfillStore } from "../../storage/backfills.ts";
import { dagRunStore } from "../../storage/dag-runs.ts";
import { startQueuedRuns } from "../../storage/sql/start-queued-runs.ts";
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

forEachApiDatabase("backfills", { dags: DAGS, allDatabases: true }, (get) => {
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

  const create = (body: Record<string, unknown>, as?: "Viewer" | "User") =>
    get().call("create_backfill", { body, ...(as ? { as } : {}) });
  const backfillRuns = async (id: number) =>
    (
      await get()
        .database.db.selectFrom("dag_run")
        .select(["run_id", "state", "run_type", "logical_date", "conf"])
        .where("backfill_id", "=", id)
        .orderBy("logical_date")
        .execute()
    ).map((r) => ({ ...r, logical_date: new Date(r.logical_date!).toISOString() }));

  test("create: the backfill and a queued backfill run per interval; listed, read; one active per DAG", async () => {
    const made = await create({
      dag_id: "daily",
      from_date: day("10"),
      to_date: day("12"),
      dag_run_conf: { size: 3 },
      max_active_runs: 2,
    });
    assert.equal(made.status, 200, JSON.stringify(made.body));
    const b = made.body;
    assert.equal(b.dag_id, "daily");
    assert.equal(b.from_date, day("10"));
    assert.equal(b.to_date, day("12"));
    assert.deepEqual(b.dag_run_conf, { size: 3 });
    assert.equal(b.is_paused, false);
    assert.equal(b.reprocess_behavior, "none");
    assert.equal(b.max_active_runs, 2);
    assert.equal(b.completed_at, null);
    assert.equal(b.dag_display_name, "daily");
    const runs = await backfillRuns(b.id);
    assert.deepEqual(
      runs.map((r) => [r.logical_date, r.state, r.run_type, JSON.parse(r.conf!).size]),
      [
        [day("10"), "queued", "backfill", 3],
        [day("11"), "queued", "backfill", 3],
        [day("12"), "queued", "backfill", 3],
      ],
    );
    const list = await get().call("list_backfills", { query: { dag_id: "daily" }, as: "Viewer" });
    assert.equal(list.status, 200);
    assert.equal(list.body.total_entries, 1);
    assert.deepEqual(list.body.backfills[0], b);
    assert.deepEqual((await get().call("get_backfill", { path: { backfill_id: b.id } })).body, b);
    assert.equal((await get().call("list_backfills", { query: {} })).status, 422, "dag_id is required");

    const again = await create({ dag_id: "daily", from_date: day("20"), to_date: day("21") });
    assert.equal(again.status, 409);
    assert.match(again.body.detail, /only one running backfill per DAG/);
    assert.equal(
      (await create({ dag_id: "daily", from_date: day("20"), to_date: day("21") }, "Viewer")).status,
      403,
    );
    assert.equal((await create({ dag_id: "nope", from_date: day("20"), to_date: day("21") })).status, 404);
    assert.equal(
      (await create({ dag_id: "daily", from_date: day("21"), to_date: day("20") })).status,
      422,
      "from after to",
    );

    // Pause and unpause; cancel fails the queued runs and completes it; a completed one cannot change.
    const pause = await get().call("pause_backfill", { path: { backfill_id: b.id } });
    assert.equal(pause.status, 200);
    assert.equal(pause.body.is_paused, true);
    const unpause = await get().call("unpause_backfill", { path: { backfill_id: b.id } });
    assert.equal(unpause.body.is_paused, false);
    const cancel = await get().call("cancel_backfill", { path: { backfill_id: b.id } });
    assert.equal(cancel.status, 200);
    assert.notEqual(cancel.body.completed_at, null);
    assert.deepEqual(
      (await backfillRuns(b.id)).map((r) => r.state),
      ["failed", "failed", "failed"],
    );
    for (const op of ["pause_backfill", "cancel_backfill"])
      assert.equal((await get().call(op, { path: { backfill_id: b.id } })).status, 409, op);
    for (const op of ["get_backfill", "pause_backfill", "unpause_backfill", "cancel_backfill"]) {
      const r = await get().call(op, { path: { backfill_id: 9999 } });
      assert.equal(r.status, 404, op);
      assert.equal(r.body.detail, "Could not find backfill with id 9999");
    }
  });

  test("reprocess: a failed run is cleared and taken into the backfill; the scheduler starts runs within max_active_runs, not while paused, and completes it", async () => {
    const db = get().database;
    // From the dry-run test: 02 succeeded, 03 failed, 04 is queued (in flight).
    const made = await create({
      dag_id: "daily",
      from_date: day("01"),
      to_date: day("05"),
      reprocess_behavior: "failed",
      max_active_runs: 1,
      run_backwards: true,
    });
    assert.equal(made.status, 200, JSON.stringify(made.body));
    const id = made.body.id;
    const runs = await backfillRuns(id);
    assert.deepEqual(
      runs.map((r) => [r.logical_date, r.state]),
      [
        [day("01"), "queued"],
        [day("03"), "queued"],
        [day("05"), "queued"],
      ],
    );
    assert.equal(runs[1]!.run_id, "run_03", "the failed run itself, cleared");
    assert.equal(runs[1]!.run_type, "backfill");

    // A paused DAG's runs wait (its backfill's too): unpaused for the scheduler's part.
    await db.db.updateTable("dag").set({ is_paused: 0 }).where("dag_id", "=", "daily").execute();
    const start = () => startQueuedRuns(db, { now: new Date().toISOString() });
    await get().call("pause_backfill", { path: { backfill_id: id } });
    await start();
    assert.deepEqual(
      (await backfillRuns(id)).map((r) => r.state),
      ["queued", "queued", "queued"],
      "a paused backfill starts nothing",
    );
    await get().call("unpause_backfill", { path: { backfill_id: id } });
    await start();
    await start();
    // One at a time, newest first (run backwards); the DAG's own queued run 04 starts beside it.
    assert.deepEqual(
      (await backfillRuns(id)).map((r) => r.state),
      ["queued", "queued", "running"],
    );
    assert.equal((await dagRunStore(db).get("daily", "run_04"))!.state, "running");
    const store = backfillStore(db);
    assert.deepEqual(await store.completeFinished(), [], "runs are left to do");
    await db.db.updateTable("dag_run").set({ state: "success" }).where("backfill_id", "=", id).execute();
    assert.deepEqual(await store.completeFinished(), [id]);
    assert.notEqual(
      (await get().call("get_backfill", { path: { backfill_id: id } })).body.completed_at,
      null,
    );
  });
});
