import assert from "node:assert/strict";
import { test } from "node:test";
import type { TaskInstanceState } from "../../core/states.ts";
import { dagRunStore } from "../../storage/dag-runs.ts";
import type { Database } from "../../storage/database.ts";
import { taskInstanceStore } from "../../storage/task-instances.ts";
import { xcomStore } from "../../storage/xcom.ts";
import { forEachApiDatabase } from "../../test-support/api.ts";

const DAGS = {
  "params.ts": `import { dag, bash } from "updraft";
export default dag(
  { dagId: "with_params", schedule: null, params: { count: { type: "integer", default: 1, minimum: 1 }, name: "world" } },
  () => { bash("a", { command: "echo {{ params.name }}" }).before(bash("b", { command: "true" })); },
);`,
  "daily.ts": `import { dag, empty } from "updraft";
export default dag({ dagId: "daily", schedule: "@daily", startDate: "2024-01-01" }, () => { empty("only"); });`,
};

const PATHS: Record<string, TaskInstanceState[]> = {
  running: ["scheduled", "queued", "running"],
  success: ["scheduled", "queued", "running", "success"],
  failed: ["scheduled", "queued", "running", "failed"],
};

/** Moves a fresh task instance to `state` through the state machine's legal steps. */
async function setTi(database: Database, dagId: string, runId: string, taskId: string, state: string) {
  const tis = taskInstanceStore(database);
  let from: TaskInstanceState = "none";
  for (const to of PATHS[state]!) {
    assert.ok(await tis.transition({ dagId, runId, taskId }, from, to), `${taskId} ${from} -> ${to}`);
    from = to;
  }
}

async function tiStates(database: Database, dagId: string, runId: string) {
  const run = (await dagRunStore(database).get(dagId, runId))!;
  const rows = await taskInstanceStore(database).listByRun(run.id);
  return Object.fromEntries(rows.map((r) => [r.task_id, r.state]));
}

async function audits(database: Database, event: string, runId: string) {
  return database.db
    .selectFrom("audit_log")
    .selectAll()
    .where("event", "=", event)
    .where("run_id", "=", runId)
    .execute();
}

forEachApiDatabase("DAG runs", { dags: DAGS }, (get) => {
  const trigger = (body: Record<string, unknown>, dagId = "with_params", as?: "Viewer" | "User") =>
    get().call("trigger_dag_run", { path: { dag_id: dagId }, body, ...(as ? { as } : {}) });

  test("trigger: conf checked against params, fields as Airflow's, audited; get answers the same", async () => {
    const r = await trigger({
      dag_run_id: "run_conf",
      logical_date: "2025-03-01T00:00:00Z",
      conf: { count: 3 },
      note: "by hand",
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const run = r.body;
    assert.equal(run.dag_run_id, "run_conf");
    assert.equal(run.dag_id, "with_params");
    assert.equal(run.state, "queued");
    assert.equal(run.run_type, "manual");
    assert.equal(run.triggered_by, "rest_api");
    assert.deepEqual(run.conf, { count: 3 });
    assert.equal(run.note, "by hand");
    assert.equal(run.logical_date, "2025-03-01T00:00:00.000Z");
    assert.equal(run.start_date, null);
    assert.equal(run.duration, null);
    assert.equal(run.dag_display_name, "with_params");
    assert.equal(run.dag_versions.length, 1);
    assert.equal(run.dag_versions[0].version_number, 1);
    assert.equal(run.dag_versions[0].dag_id, "with_params");
    assert.match(run.queued_at, /^\d{4}-\d\d-\d\dT/);

    const again = await get().call("get_dag_run", {
      path: { dag_id: "with_params", dag_run_id: "run_conf" },
    });
    assert.equal(again.status, 200);
    assert.deepEqual(again.body, run);
    assert.deepEqual(await tiStates(get().database, "with_params", "run_conf"), { a: null, b: null });

    const logged = await audits(get().database, "trigger_dag_run", "run_conf");
    assert.equal(logged.length, 1);
    assert.equal(logged[0]!.owner, "admin");
    assert.equal(logged[0]!.dag_id, "with_params");
  });

  test("trigger: the default run id comes from the logical date; a taken run id is a 409", async () => {
    const r = await trigger({ logical_date: "2025-03-02T00:00:00Z" });
    assert.equal(r.status, 200);
    assert.equal(r.body.dag_run_id, "manual__2025-03-02T00:00:00+00:00");
    const same = await trigger({ logical_date: "2025-03-02T00:00:00Z" });
    assert.equal(same.status, 409);
    const taken = await trigger({ dag_run_id: "run_conf", logical_date: null });
    assert.equal(taken.status, 409);
    assert.match(taken.body.detail, /run_conf/);
  });

  test("trigger: invalid conf is a 400 naming the param; unknown DAG 404; body errors 422; Viewer 403", async () => {
    const wrongType = await trigger({ logical_date: null, conf: { count: "many" } });
    assert.equal(wrongType.status, 400);
    assert.match(wrongType.body.detail, /param "count"/);
    const tooSmall = await trigger({ logical_date: null, conf: { count: 0 } });
    assert.equal(tooSmall.status, 400);
    assert.match(tooSmall.body.detail, /param "count".*>= 1/);

    const unknown = await trigger({ logical_date: null }, "no_such_dag");
    assert.equal(unknown.status, 404);
    assert.match(unknown.body.detail, /no_such_dag/);

    const missing = await trigger({ conf: {} });
    assert.equal(missing.status, 422, "logical_date is required (it may be null)");
    const half = await trigger({ logical_date: null, data_interval_start: "2025-01-01T00:00:00Z" });
    assert.equal(half.status, 422);
    const extra = await trigger({ logical_date: null, bogus: 1 });
    assert.equal(extra.status, 422);

    const viewer = await trigger({ logical_date: null }, "with_params", "Viewer");
    assert.equal(viewer.status, 403);
    const user = await trigger({ logical_date: null, dag_run_id: "by_user" }, "with_params", "User");
    assert.equal(user.status, 200);
    assert.match(user.body.logical_date, /^\d{4}-/);
    const runs = await dagRunStore(get().database).list({ dagId: "with_params" });
    assert.ok(
      !runs.some((r) => JSON.parse(r.conf ?? "{}").count === "many"),
      "no run from a refused trigger",
    );
  });

  test("list: one DAG or all (~), filters, order and paging; batch list", async () => {
    const database = get().database;
    for (const day of ["01", "02", "03"]) {
      const r = await trigger({ dag_run_id: `d_${day}`, logical_date: `2024-02-${day}T00:00:00Z` }, "daily");
      assert.equal(r.status, 200);
    }
    // d_01 ran from 00:00 to 00:10 (600 s), d_02 from 00:00 to 00:01 (60 s).
    const runs = dagRunStore(database);
    for (const [id, end] of [
      ["d_01", "2024-02-05T00:10:00.000Z"],
      ["d_02", "2024-02-05T00:01:00.000Z"],
    ] as const) {
      const run = (await runs.get("daily", id))!;
      await runs.setState(run.id, "running", "2024-02-05T00:00:00.000Z");
      await runs.setState(run.id, "success", end);
    }
    const list = (query: Record<string, unknown>, dagId = "daily") =>
      get().call("get_dag_runs", { path: { dag_id: dagId }, query });
    const ids = (r: { body: { dag_runs: { dag_run_id: string }[] } }) =>
      r.body.dag_runs.map((x) => x.dag_run_id);

    const all = await list({});
    assert.equal(all.status, 200);
    assert.deepEqual(ids(all), ["d_01", "d_02", "d_03"], "default order: id");
    assert.equal(all.body.total_entries, 3);
    assert.equal(all.body.dag_runs[0].duration, 600);

    const page = await list({ order_by: "-logical_date", limit: 1, offset: 1 });
    assert.deepEqual(ids(page), ["d_02"]);
    assert.equal(page.body.total_entries, 3, "total before paging");
    assert.deepEqual(ids(await list({ state: ["success"] })), ["d_01", "d_02"]);
    assert.deepEqual(ids(await list({ state: ["queued"], run_type: ["manual"] })), ["d_03"]);
    assert.deepEqual(ids(await list({ run_type: ["scheduled"] })), []);
    assert.deepEqual(ids(await list({ logical_date_gte: "2024-02-02T00:00:00Z" })), ["d_02", "d_03"]);
    assert.deepEqual(ids(await list({ logical_date_gt: "2024-02-02T00:00:00Z" })), ["d_03"]);
    assert.deepEqual(ids(await list({ end_date_lte: "2024-02-05T00:05:00Z" })), ["d_02"]);
    assert.deepEqual(ids(await list({ run_id_pattern: "d_01|d_03" })), ["d_01", "d_03"]);
    assert.deepEqual(ids(await list({ order_by: "-duration" })), ["d_01", "d_02", "d_03"]);
    assert.deepEqual(ids(await list({ order_by: "duration" })), ["d_03", "d_02", "d_01"]);
    // NULL is the smallest value on every database (PostgreSQL included): newest first ends with the
    // run that never started, oldest first begins with it.
    assert.deepEqual(ids(await list({ order_by: "-start_date" })), ["d_01", "d_02", "d_03"]);
    assert.deepEqual(ids(await list({ order_by: "start_date" })), ["d_03", "d_01", "d_02"]);
    assert.deepEqual(ids(await list({ order_by: ["-end_date", "-duration"] })), ["d_01", "d_02", "d_03"]);
    // Pages past the middle are read from the other end: every page is still the same slice.
    for (const order_by of ["-start_date", "start_date", "duration", "-duration", "id", "-run_after"]) {
      const full = ids(await list({ order_by }));
      for (let offset = 0; offset <= 4; offset++)
        for (const limit of [1, 2])
          assert.deepEqual(
            ids(await list({ order_by, offset, limit })),
            full.slice(offset, offset + limit),
            `order_by=${order_by} offset=${offset} limit=${limit}`,
          );
    }
    const long = await list({ duration_gte: 100 });
    assert.deepEqual(ids(long), ["d_01"]);
    assert.equal(long.body.total_entries, 1);
    assert.deepEqual(ids(await list({ dag_version: [1] })), ["d_01", "d_02", "d_03"]);
    assert.deepEqual(ids(await list({ dag_version: [2] })), []);
    assert.deepEqual(
      ids(await list({ triggering_user_name_pattern: "admin" })),
      [],
      "no triggering user recorded",
    );

    // Airflow answers 400 for an unknown sort field, a status its spec does not list for this endpoint.
    const bad = await get().app.inject({
      url: "/api/v2/dags/daily/dagRuns?order_by=nope",
      headers: { authorization: `Bearer ${get().tokens.Admin}` },
    });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json().detail, /nope/);
    const unknown = await list({}, "no_such_dag");
    assert.equal(unknown.status, 404);

    const everything = await list({ order_by: ["dag_id", "run_id"], limit: 100 }, "~");
    assert.equal(everything.status, 200);
    const dagIds = new Set(everything.body.dag_runs.map((r: { dag_id: string }) => r.dag_id));
    assert.deepEqual([...dagIds], ["daily", "with_params"]);
    assert.equal(everything.body.total_entries, everything.body.dag_runs.length);
    assert.deepEqual(ids(await list({ dag_id_pattern: "dail" }, "~")), ["d_01", "d_02", "d_03"]);

    const batch = (body: Record<string, unknown>, as?: "Viewer") =>
      get().call("get_list_dag_runs_batch", { path: { dag_id: "~" }, body, ...(as ? { as } : {}) });
    const b1 = await batch({ dag_ids: ["daily"], order_by: "-run_id", page_limit: 2 }, "Viewer");
    assert.equal(b1.status, 200);
    assert.deepEqual(ids(b1), ["d_03", "d_02"]);
    assert.equal(b1.body.total_entries, 3);
    assert.deepEqual(ids(await batch({ dag_ids: ["daily"], states: ["success"], page_offset: 1 })), ["d_02"]);
    assert.deepEqual(ids(await batch({ dag_ids: ["daily"], logical_date_lte: "2024-02-01T00:00:00Z" })), [
      "d_01",
    ]);
    const notTilde = await get().call("get_list_dag_runs_batch", { path: { dag_id: "daily" }, body: {} });
    assert.equal(notTilde.status, 422);
  });

  test("patch: mark failed fails running tasks and skips the rest; note; update_mask; queued again", async () => {
    const database = get().database;
    assert.equal((await trigger({ dag_run_id: "to_fail", logical_date: null })).status, 200);
    await setTi(database, "with_params", "to_fail", "a", "running");
    const path = { dag_id: "with_params", dag_run_id: "to_fail" };
    const failed = await get().call("patch_dag_run", { path, body: { state: "failed" } });
    assert.equal(failed.status, 200, JSON.stringify(failed.body));
    assert.equal(failed.body.state, "failed");
    assert.match(failed.body.end_date, /^\d{4}-/);
    assert.deepEqual(await tiStates(database, "with_params", "to_fail"), { a: "failed", b: "skipped" });
    assert.equal((await audits(database, "patch_dag_run", "to_fail")).length, 1);

    const masked = await get().call("patch_dag_run", {
      path,
      query: { update_mask: "note" },
      body: { state: "success", note: "looked at it" },
    });
    assert.equal(masked.status, 200);
    assert.equal(masked.body.note, "looked at it");
    assert.equal(masked.body.state, "failed", "update_mask leaves the state alone");

    const queued = await get().call("patch_dag_run", { path, body: { state: "queued" } });
    assert.equal(queued.status, 200);
    assert.equal(queued.body.state, "queued");
    assert.equal(queued.body.end_date, null);
    assert.ok(queued.body.queued_at >= failed.body.queued_at);
    assert.deepEqual(await tiStates(database, "with_params", "to_fail"), { a: "failed", b: "skipped" });

    const noteOnly = await get().call("patch_dag_run", { path, body: { note: null } });
    assert.equal(noteOnly.body.note, null);
    assert.equal(noteOnly.body.state, "queued");
  });

  test("patch: mark success succeeds running and never-started tasks; bad states are 422", async () => {
    const database = get().database;
    assert.equal((await trigger({ dag_run_id: "to_succeed", logical_date: null })).status, 200);
    await setTi(database, "with_params", "to_succeed", "a", "success");
    await setTi(database, "with_params", "to_succeed", "b", "running");
    const path = { dag_id: "with_params", dag_run_id: "to_succeed" };
    const ok = await get().call("patch_dag_run", { path, body: { state: "success" } });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.state, "success");
    assert.deepEqual(await tiStates(database, "with_params", "to_succeed"), { a: "success", b: "success" });

    // As in Airflow, never-started task instances are marked success too (a user's mark).
    assert.equal((await trigger({ dag_run_id: "fresh", logical_date: null })).status, 200);
    const marked = await get().call("patch_dag_run", {
      path: { dag_id: "with_params", dag_run_id: "fresh" },
      body: { state: "success" },
    });
    assert.equal(marked.status, 200, JSON.stringify(marked.body));
    assert.equal(marked.body.state, "success");
    assert.deepEqual(await tiStates(database, "with_params", "fresh"), { a: "success", b: "success" });

    const bad = await get().call("patch_dag_run", { path, body: { state: "running" } });
    assert.equal(bad.status, 422);
    const missing = await get().call("patch_dag_run", {
      path: { dag_id: "with_params", dag_run_id: "nope" },
      body: { note: "x" },
    });
    assert.equal(missing.status, 404);
    const viewer = await get().call("patch_dag_run", { path, body: { note: "x" }, as: "Viewer" });
    assert.equal(viewer.status, 403);
  });

  test("clear: dry run lists what would be cleared and changes nothing; a real clear queues the run", async () => {
    const database = get().database;
    assert.equal((await trigger({ dag_run_id: "to_clear", logical_date: null })).status, 200);
    await setTi(database, "with_params", "to_clear", "a", "success");
    await setTi(database, "with_params", "to_clear", "b", "failed");
    const runs = dagRunStore(database);
    await runs.setState((await runs.get("with_params", "to_clear"))!.id, "failed");
    const path = { dag_id: "with_params", dag_run_id: "to_clear" };

    const dry = await get().call("clear_dag_run", { path, body: {} });
    assert.equal(dry.status, 200);
    assert.equal(dry.body.total_entries, 2);
    assert.deepEqual(
      dry.body.task_instances.map((t: { task_id: string; state: string }) => [t.task_id, t.state]),
      [
        ["a", "success"],
        ["b", "failed"],
      ],
    );
    const onlyFailed = await get().call("clear_dag_run", {
      path,
      body: { dry_run: true, only_failed: true },
    });
    assert.deepEqual(
      onlyFailed.body.task_instances.map((t: { task_id: string }) => t.task_id),
      ["b"],
    );
    assert.deepEqual(await tiStates(database, "with_params", "to_clear"), { a: "success", b: "failed" });
    assert.equal((await audits(database, "clear_dag_run", "to_clear")).length, 0, "a dry run is no change");

    const real = await get().call("clear_dag_run", { path, body: { dry_run: false } });
    assert.equal(real.status, 200);
    assert.equal(real.body.dag_run_id, "to_clear");
    assert.equal(real.body.state, "queued");
    assert.deepEqual(await tiStates(database, "with_params", "to_clear"), { a: null, b: null });
    assert.equal((await audits(database, "clear_dag_run", "to_clear")).length, 1);

    const missing = await get().call("clear_dag_run", {
      path: { dag_id: "with_params", dag_run_id: "nope" },
      body: { dry_run: false },
    });
    assert.equal(missing.status, 404);
  });

  test("delete: the run and its task instances go; then 404; Viewer 403", async () => {
    const database = get().database;
    assert.equal((await trigger({ dag_run_id: "to_delete", logical_date: null })).status, 200);
    await setTi(database, "with_params", "to_delete", "a", "success");
    const path = { dag_id: "with_params", dag_run_id: "to_delete" };
    assert.equal((await get().call("delete_dag_run", { path, as: "Viewer" })).status, 403);
    const gone = await get().call("delete_dag_run", { path });
    assert.equal(gone.status, 204);
    assert.equal((await get().call("get_dag_run", { path })).status, 404);
    const left = await database.db
      .selectFrom("task_instance")
      .select("task_id")
      .where("run_id", "=", "to_delete")
      .execute();
    assert.deepEqual(left, []);
    assert.equal((await audits(database, "delete_dag_run", "to_delete")).length, 1);
    assert.equal((await get().call("delete_dag_run", { path })).status, 404);
  });

  test("wait: NDJSON lines until the run finishes, with the results asked for", async () => {
    const database = get().database;
    assert.equal((await trigger({ dag_run_id: "to_wait", logical_date: null })).status, 200);
    const runs = dagRunStore(database);
    const run = (await runs.get("with_params", "to_wait"))!;
    await xcomStore(database).push(
      { dagRunId: run.id, dagId: "with_params", runId: "to_wait", taskId: "a" },
      JSON.stringify({ rows: 42 }),
    );
    const waiting = get().app.inject({
      method: "GET",
      url: "/api/v2/dags/with_params/dagRuns/to_wait/wait?interval=0.05&result=a&result=b",
      headers: { authorization: `Bearer ${get().tokens.Viewer}` },
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await runs.setState(run.id, "running");
    await new Promise((resolve) => setTimeout(resolve, 200));
    await runs.setState(run.id, "success");
    const response = await waiting;
    assert.equal(response.statusCode, 200);
    assert.match(String(response.headers["content-type"]), /application\/x-ndjson/);
    const lines = response.body
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { state: string; results?: unknown });
    assert.ok(lines.length >= 3, response.body);
    assert.deepEqual(lines[0], { state: "queued" });
    assert.ok(lines.some((l) => l.state === "running"));
    assert.deepEqual(lines.at(-1), { state: "success", results: { a: { rows: 42 } } });
    assert.ok(lines.slice(0, -1).every((l) => l.results === undefined));

    const finished = await get().call("wait_dag_run_until_finished", {
      path: { dag_id: "with_params", dag_run_id: "to_wait" },
      query: { interval: 1 },
    });
    assert.equal(finished.status, 200);
    // One line: the harness reads it as JSON.
    assert.deepEqual(
      finished.body,
      { state: "success" },
      "a finished run answers at once, no results unasked",
    );
    const missing = await get().call("wait_dag_run_until_finished", {
      path: { dag_id: "with_params", dag_run_id: "nope" },
      query: { interval: 1 },
    });
    assert.equal(missing.status, 404);
    const noInterval = await get().call("wait_dag_run_until_finished", {
      path: { dag_id: "with_params", dag_run_id: "to_wait" },
      query: {},
    });
    assert.equal(noInterval.status, 422);
  });

  test("upstream asset events: none for a run not started by assets; 404 for an unknown run", async () => {
    const r = await get().call("get_upstream_asset_events", {
      path: { dag_id: "with_params", dag_run_id: "run_conf" },
      as: "Viewer",
    });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { asset_events: [], total_entries: 0 });
    const missing = await get().call("get_upstream_asset_events", {
      path: { dag_id: "with_params", dag_run_id: "nope" },
    });
    assert.equal(missing.status, 404);
  });
});
