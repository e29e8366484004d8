import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, test } from "node:test";
import { processDagFiles } from "../../dag-processing/processor.ts";
import { dagRunStore } from "../../storage/dag-runs.ts";
import { dagStore } from "../../storage/dags.ts";
import { taskInstanceStore } from "../../storage/task-instances.ts";
import { xcomStore } from "../../storage/xcom.ts";
import { forEachApiDatabase, type ApiHarness } from "../../test-support/api.ts";
import { filelocOfToken } from "../dag-view.ts";

const DAGS = {
  "etl.ts": `import { dag, task, bash, empty, chain } from "updraft";
export default dag(
  {
    dagId: "etl_daily",
    description: "Loads the warehouse",
    docMd: "# ETL",
    schedule: "@daily",
    startDate: "2024-01-01",
    tags: ["etl", "prod"],
    owner: "data-team",
    dagrunTimeout: "2h",
    params: { region: "eu", limit: { type: "integer", default: 10, description: "rows" } },
  },
  () => {
    const extract = bash("extract", { command: "echo {{ ds }}", retries: 2, retryDelay: "90s", pool: "etl_pool", priorityWeight: 5 });
    const transform = task("transform", async () => 1, { executionTimeout: "1d" });
    const done = empty("done", { triggerRule: "all_done" });
    chain(extract, transform(), done);
  },
);`,
  "reporting.ts": `import { dag, empty } from "updraft";
export default dag({ dagId: "reporting", schedule: "30 2 * * *", timezone: "Europe/Amsterdam", startDate: "2024-01-01", tags: ["prod", "reports"], owner: "analyst" }, () => { empty("only"); });`,
  "manual.ts": `import { dag, bash } from "updraft";
export default dag({ dagId: "manual_job", tags: ["adhoc"], isPausedUponCreation: false }, () => { bash("run", { command: "true" }); });`,
  "broken.ts": `import { dag } from "updraft";\nthrow new Error("exploded on purpose");`,
};

/**
 * A second definition of etl_daily is an import error of this file, while dup_ok from it loads. It is
 * written after the first parse, so etl.ts owns etl_daily whatever order files finish parsing in.
 */
const DUP_FILE = `import { dag, empty } from "updraft";
export const ok = dag({ dagId: "dup_ok" }, () => { empty("a"); });
export const clash = dag({ dagId: "etl_daily" }, () => { empty("b"); });`;

const ids = (body: { dags: { dag_id: string }[] }) => body.dags.map((d) => d.dag_id);

/**
 * Airflow answers an unknown order_by field with 400 on every list, though its spec lists 400 for
 * few of them; the harness rejects statuses the spec does not list, so these go to the app directly.
 */
async function badOrder(get: () => ApiHarness, url: string): Promise<string> {
  const r = await get().app.inject({ url, headers: { authorization: `Bearer ${get().tokens.Viewer}` } });
  assert.equal(r.statusCode, 400, r.body);
  return r.json().detail;
}

forEachApiDatabase("DAG routes", { dags: DAGS }, (get) => {
  before(async () => {
    writeFileSync(join(get().home, "dags", "zz_dup.ts"), DUP_FILE);
    await processDagFiles(get().config, get().database);
  });

  test("get_dags answers every active DAG with Airflow's fields", async () => {
    const r = await get().call("get_dags", {});
    assert.equal(r.status, 200);
    assert.equal(r.body.total_entries, 4);
    assert.deepEqual(ids(r.body), ["dup_ok", "etl_daily", "manual_job", "reporting"]);
    const etl = r.body.dags.find((d: { dag_id: string }) => d.dag_id === "etl_daily");
    assert.equal(etl.is_paused, true, "new DAGs start paused (core.dags_are_paused_at_creation)");
    assert.equal(etl.is_stale, false);
    assert.equal(etl.description, "Loads the warehouse");
    assert.deepEqual(
      etl.tags.map((t: { name: string }) => t.name),
      ["etl", "prod"],
    );
    assert.equal(etl.tags[0].dag_id, "etl_daily");
    assert.deepEqual(etl.owners, ["data-team"]);
    assert.equal(etl.timetable_summary, "@daily");
    assert.equal(etl.timetable_description, "every day at 00:00, UTC");
    assert.equal(etl.fileloc, join(get().home, "dags", "etl.ts"));
    assert.equal(etl.relative_fileloc, "etl.ts");
    assert.equal(filelocOfToken(etl.file_token), "etl.ts");
    assert.equal(etl.has_import_errors, false);
    assert.equal(etl.bundle_name, null);
    assert.equal(typeof etl.last_parse_duration, "number");
    assert.match(etl.last_parsed_time, /^\d{4}-\d\d-\d\dT/);
    const manual = r.body.dags.find((d: { dag_id: string }) => d.dag_id === "manual_job");
    assert.equal(manual.is_paused, false, "isPausedUponCreation: false");
    assert.equal(manual.timetable_summary, "None");
    assert.equal(manual.timetable_description, "never (manual runs only)");
    const reporting = r.body.dags.find((d: { dag_id: string }) => d.dag_id === "reporting");
    assert.equal(reporting.timetable_description, "every day at 02:30, Europe/Amsterdam");
  });

  test("get_dags filters by tags, owners, patterns, pause state and import errors", async () => {
    const list = async (query: Record<string, unknown>) => {
      const r = await get().call("get_dags", { query });
      assert.equal(r.status, 200);
      assert.equal(r.body.total_entries, r.body.dags.length);
      return ids(r.body);
    };
    assert.deepEqual(await list({ tags: ["prod"] }), ["etl_daily", "reporting"]);
    assert.deepEqual(await list({ tags: ["etl", "reports"] }), ["etl_daily", "reporting"]);
    assert.deepEqual(await list({ tags: ["etl", "prod"], tags_match_mode: "all" }), ["etl_daily"]);
    assert.deepEqual(await list({ tags: ["etl", "reports"], tags_match_mode: "all" }), []);
    assert.deepEqual(await list({ owners: ["analyst"] }), ["reporting"]);
    assert.deepEqual(await list({ dag_id_pattern: "ETL|report" }), ["etl_daily", "reporting"]);
    assert.deepEqual(await list({ dag_id_pattern: "%_job" }), ["manual_job"]);
    assert.deepEqual(await list({ dag_display_name_pattern: "dup" }), ["dup_ok"]);
    assert.deepEqual(await list({ paused: false }), ["manual_job"]);
    assert.deepEqual(await list({ paused: true }), ["dup_ok", "etl_daily", "reporting"]);
    assert.deepEqual(await list({ has_import_errors: true }), ["dup_ok"]);
    assert.deepEqual(await list({ has_import_errors: false }), ["etl_daily", "manual_job", "reporting"]);
    // What Updraft does not have matches nothing (bundles, favorites, timetable classes); none of
    // these DAGs is scheduled on assets (asset filters: ./assets.test.ts).
    assert.deepEqual(await list({ bundle_name: "dags-folder" }), []);
    assert.deepEqual(await list({ is_favorite: true }), []);
    assert.deepEqual(await list({ has_asset_schedule: true }), []);
    assert.equal((await list({ has_asset_schedule: false })).length, 4);
    assert.equal((await list({ is_favorite: false })).length, 4);
  });

  test("get_dags by next run puts DAGs with no next run last, both ways (as Airflow's nulls last)", async () => {
    // as the scheduler would have set them: two DAGs with a next run, the others none
    for (const [dagId, at] of [
      ["etl_daily", "2030-01-02T00:00:00.000Z"],
      ["reporting", "2030-01-01T00:00:00.000Z"],
    ] as const)
      await get()
        .database.db.updateTable("dag")
        .set({ next_dagrun: at, next_dagrun_create_after: at })
        .where("dag_id", "=", dagId)
        .execute();
    const order = async (order_by: string) =>
      (await get().call("get_dags", { query: { order_by, limit: 10 } })).body.dags.map(
        (d: { next_dagrun_run_after: string | null }) => d.next_dagrun_run_after !== null,
      );
    for (const by of ["next_dagrun", "-next_dagrun"]) {
      const has: boolean[] = await order(by);
      assert.ok(has.includes(true) && has.includes(false), `some DAGs with and some without (${has})`);
      assert.deepEqual(
        has,
        [...has].sort((a, b) => Number(b) - Number(a)),
        `${by}: ${has}`,
      );
    }
  });

  test("get_dags orders and pages; an unknown order field is a 400", async () => {
    const r = await get().call("get_dags", { query: { order_by: "-dag_id", limit: 2, offset: 1 } });
    assert.deepEqual(ids(r.body), ["manual_job", "etl_daily"]);
    assert.equal(r.body.total_entries, 4, "the total counts every match, not the page");
    const none = await get().call("get_dags", { query: { limit: 0 } });
    assert.deepEqual(none.body.dags, []);
    assert.equal(none.body.total_entries, 4);
    assert.match(
      await badOrder(get, "/api/v2/dags?order_by=fileloc"),
      /Ordering with 'fileloc' is disallowed/,
    );
    const invalid = await get().call("get_dags", { query: { limit: -1 } });
    assert.equal(invalid.status, 422);
  });

  test("get_dags filters on the latest run; get_dag_stats counts runs per state", async () => {
    const { database } = get();
    const runs = dagRunStore(database);
    const make = async (
      dagId: string,
      runId: string,
      start: string,
      end: string | null,
      state: "success" | "failed" | "running",
    ) => {
      const dag = (await dagStore(database).getSerialized(dagId))!;
      const run = await runs.create({
        dag,
        runId,
        runType: "manual",
        logicalDate: start,
        dataIntervalStart: start,
        dataIntervalEnd: start,
        runAfter: start,
      });
      await runs.setState(run.id, "running", start);
      if (state !== "running") await runs.setState(run.id, state, end!);
      return run;
    };
    await make("etl_daily", "r1", "2024-01-02T00:00:00.000Z", "2024-01-02T01:00:00.000Z", "success");
    await make("etl_daily", "r2", "2024-01-03T00:00:00.000Z", "2024-01-03T01:00:00.000Z", "failed");
    await make("manual_job", "m1", "2024-01-01T00:00:00.000Z", null, "running");
    const list = async (query: Record<string, unknown>) =>
      ids((await get().call("get_dags", { query })).body);
    assert.deepEqual(await list({ last_dag_run_state: "failed" }), ["etl_daily"]);
    assert.deepEqual(await list({ last_dag_run_state: "success" }), [], "only the latest run counts");
    assert.deepEqual(await list({ dag_run_state: ["running", "failed"] }), ["etl_daily", "manual_job"]);
    assert.deepEqual(await list({ dag_run_start_date_gte: "2024-01-02T00:00:00Z" }), ["etl_daily"]);
    assert.deepEqual(await list({ dag_run_start_date_lt: "2024-01-02T00:00:00Z" }), ["manual_job"]);
    assert.deepEqual(await list({ dag_run_end_date_lte: "2024-01-03T01:00:00Z" }), ["etl_daily"]);
    assert.deepEqual(
      await list({ order_by: ["-last_run_start_date"], dag_run_state: ["running", "failed"] }),
      ["etl_daily", "manual_job"],
    );
    assert.deepEqual(
      await list({ order_by: ["last_run_start_date"], dag_run_state: ["running", "failed"] }),
      ["manual_job", "etl_daily"],
    );

    const stats = await get().call("get_dag_stats", {});
    assert.equal(stats.status, 200);
    assert.equal(stats.body.total_entries, 2);
    const etl = stats.body.dags.find((d: { dag_id: string }) => d.dag_id === "etl_daily");
    assert.deepEqual(etl.stats, [
      { state: "queued", count: 0 },
      { state: "running", count: 0 },
      { state: "success", count: 1 },
      { state: "failed", count: 1 },
    ]);
    const only = await get().call("get_dag_stats", { query: { dag_ids: ["manual_job"] } });
    assert.deepEqual(
      only.body.dags.map((d: { dag_id: string }) => d.dag_id),
      ["manual_job"],
    );
    assert.equal(only.body.dags[0].stats[1].count, 1);
  });

  test("get_dag and get_dag_details answer one DAG; an unknown one is a 404", async () => {
    const r = await get().call("get_dag", { path: { dag_id: "etl_daily" } });
    assert.equal(r.status, 200);
    assert.equal(r.body.dag_id, "etl_daily");
    assert.equal(r.body.max_active_runs, 16);
    const missing = await get().call("get_dag", { path: { dag_id: "nope" } });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.detail, "The Dag with ID: `nope` was not found");

    const d = await get().call("get_dag_details", { path: { dag_id: "etl_daily" } });
    assert.equal(d.status, 200);
    assert.equal(d.body.catchup, false);
    assert.equal(d.body.doc_md, "# ETL");
    assert.equal(d.body.dag_run_timeout, "PT2H");
    assert.equal(d.body.timezone, "UTC");
    assert.equal(d.body.start_date, "2024-01-01T00:00:00.000Z");
    assert.equal(d.body.params.region.value, "eu");
    assert.equal(d.body.params.limit.value, 10);
    assert.equal(d.body.params.limit.description, "rows");
    assert.equal(d.body.active_runs_count, 0);
    assert.equal(d.body.concurrency, d.body.max_active_tasks);
    assert.equal(d.body.is_favorite, false);
    assert.equal(d.body.latest_dag_version.version_number, 1);
    const manual = await get().call("get_dag_details", { path: { dag_id: "manual_job" } });
    assert.equal(manual.body.active_runs_count, 1, "the running run");
    assert.equal((await get().call("get_dag_details", { path: { dag_id: "nope" } })).status, 404);
  });

  test("get_tasks and get_task describe the serialized tasks", async () => {
    const r = await get().call("get_tasks", { path: { dag_id: "etl_daily" } });
    assert.equal(r.status, 200);
    assert.equal(r.body.total_entries, 3);
    assert.deepEqual(
      r.body.tasks.map((t: { task_id: string }) => t.task_id),
      ["done", "extract", "transform"],
    );
    const [done, extract, transform] = r.body.tasks;
    assert.equal(extract.operator_name, "BashOperator");
    assert.deepEqual(extract.class_ref, { module_path: "updraft", class_name: "BashOperator" });
    assert.equal(extract.retries, 2);
    assert.deepEqual(extract.retry_delay, { __type: "TimeDelta", days: 0, seconds: 90, microseconds: 0 });
    assert.equal(extract.pool, "etl_pool");
    assert.equal(extract.priority_weight, 5);
    assert.equal(extract.weight_rule, "downstream");
    assert.deepEqual(extract.downstream_task_ids, ["transform"]);
    assert.deepEqual(extract.template_fields, ["command", "env", "cwd"]);
    assert.equal(extract.owner, "data-team");
    assert.equal(transform.operator_name, "PythonOperator");
    assert.deepEqual(transform.execution_timeout, {
      __type: "TimeDelta",
      days: 1,
      seconds: 0,
      microseconds: 0,
    });
    assert.deepEqual(transform.downstream_task_ids, ["done"]);
    assert.equal(done.operator_name, "EmptyOperator");
    assert.equal(done.trigger_rule, "all_done");
    assert.deepEqual(done.downstream_task_ids, []);

    const byWeight = await get().call("get_tasks", {
      path: { dag_id: "etl_daily" },
      query: { order_by: "-priority_weight" },
    });
    assert.equal(byWeight.body.tasks[0].task_id, "extract");
    const bad = await get().call("get_tasks", {
      path: { dag_id: "etl_daily" },
      query: { order_by: "nonsense" },
    });
    assert.equal(bad.status, 400);
    assert.equal((await get().call("get_tasks", { path: { dag_id: "nope" } })).status, 404);

    const one = await get().call("get_task", { path: { dag_id: "etl_daily", task_id: "transform" } });
    assert.equal(one.status, 200);
    assert.equal(one.body.task_id, "transform");
    const missing = await get().call("get_task", { path: { dag_id: "etl_daily", task_id: "nope" } });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.detail, "Task with id nope was not found");
  });

  test("get_dag_source answers the file's text as JSON or plain text", async () => {
    const r = await get().call("get_dag_source", { path: { dag_id: "etl_daily" } });
    assert.equal(r.status, 200);
    assert.equal(r.body.content, DAGS["etl.ts"]);
    assert.equal(r.body.version_number, 1);
    assert.equal(r.body.dag_display_name, "etl_daily");
    const text = await get().app.inject({
      url: "/api/v2/dagSources/manual_job",
      headers: { authorization: `Bearer ${get().tokens.Viewer}`, accept: "text/plain" },
    });
    assert.equal(text.statusCode, 200);
    assert.match(text.headers["content-type"] as string, /^text\/plain/);
    assert.equal(text.body, DAGS["manual.ts"]);
    const xml = await get().app.inject({
      url: "/api/v2/dagSources/manual_job",
      headers: { authorization: `Bearer ${get().tokens.Viewer}`, accept: "application/xml" },
    });
    assert.equal(xml.statusCode, 406);
    const v2 = await get().call("get_dag_source", {
      path: { dag_id: "etl_daily" },
      query: { version_number: 2 },
    });
    assert.equal(v2.status, 404);
    assert.equal((await get().call("get_dag_source", { path: { dag_id: "nope" } })).status, 404);
  });

  test("get_dag_tags lists distinct tag names with a pattern, order and paging", async () => {
    const all = await get().call("get_dag_tags", {});
    assert.deepEqual(all.body, { tags: ["adhoc", "etl", "prod", "reports"], total_entries: 4 });
    const desc = await get().call("get_dag_tags", { query: { order_by: "-name", limit: 2 } });
    assert.deepEqual(desc.body, { tags: ["reports", "prod"], total_entries: 4 });
    const pattern = await get().call("get_dag_tags", { query: { tag_name_pattern: "RE|hoc" } });
    assert.deepEqual(pattern.body, { tags: ["adhoc", "reports"], total_entries: 2 });
    assert.match(await badOrder(get, "/api/v2/dagTags?order_by=dag_id"), /'dag_id' is disallowed/);
  });

  test("import errors: the list, a pattern, one by id, and 404", async () => {
    const all = await get().call("get_import_errors", { query: { order_by: "filename" } });
    assert.equal(all.status, 200);
    assert.equal(all.body.total_entries, 2);
    assert.deepEqual(
      all.body.import_errors.map((e: { filename: string }) => e.filename),
      ["broken.ts", "zz_dup.ts"],
    );
    const broken = all.body.import_errors[0];
    assert.match(broken.stack_trace, /exploded on purpose/);
    assert.equal(broken.bundle_name, null);
    assert.match(all.body.import_errors[1].stack_trace, /already defined in etl\.ts/);
    const filtered = await get().call("get_import_errors", { query: { filename_pattern: "dup" } });
    assert.equal(filtered.body.total_entries, 1);
    const paged = await get().call("get_import_errors", { query: { order_by: "-filename", limit: 1 } });
    assert.equal(paged.body.import_errors[0].filename, "zz_dup.ts");
    assert.equal(paged.body.total_entries, 2);
    const one = await get().call("get_import_error", { path: { import_error_id: broken.import_error_id } });
    assert.deepEqual(one.body, broken);
    const missing = await get().call("get_import_error", { path: { import_error_id: 987654 } });
    assert.equal(missing.status, 404);
  });

  test("DAG versions: each DAG parsed once has version 1", async () => {
    const r = await get().call("get_dag_versions", { path: { dag_id: "etl_daily" } });
    assert.equal(r.status, 200);
    assert.equal(r.body.total_entries, 1);
    const version = r.body.dag_versions[0];
    assert.equal(version.version_number, 1);
    assert.equal(version.dag_id, "etl_daily");
    const every = await get().call("get_dag_versions", { path: { dag_id: "~" } });
    assert.equal(every.body.total_entries, 4);
    const v2 = await get().call("get_dag_versions", { path: { dag_id: "~" }, query: { version_number: 2 } });
    assert.equal(v2.body.total_entries, 0);
    const one = await get().call("get_dag_version", { path: { dag_id: "etl_daily", version_number: 1 } });
    assert.deepEqual(one.body, version);
    const details = await get().call("get_dag_details", { path: { dag_id: "etl_daily" } });
    assert.equal(details.body.latest_dag_version.id, version.id);
    assert.equal(
      (await get().call("get_dag_version", { path: { dag_id: "etl_daily", version_number: 2 } })).status,
      404,
    );
    assert.equal((await get().call("get_dag_versions", { path: { dag_id: "nope" } })).status, 404);
  });

  test("DAG warnings: Updraft raises none", async () => {
    const r = await get().call("list_dag_warnings", { query: { dag_id: "etl_daily" } });
    assert.deepEqual(r.body, { dag_warnings: [], total_entries: 0 });
    assert.match(await badOrder(get, "/api/v2/dagWarnings?order_by=-nope"), /'nope' is disallowed/);
  });

  test("patch_dag pauses and unpauses, audited; bad masks, unknown DAGs and Viewers are refused", async () => {
    const r = await get().call("patch_dag", { path: { dag_id: "etl_daily" }, body: { is_paused: false } });
    assert.equal(r.status, 200);
    assert.equal(r.body.is_paused, false);
    assert.equal((await get().call("get_dag", { path: { dag_id: "etl_daily" } })).body.is_paused, false);
    const audit = await get()
      .database.db.selectFrom("audit_log")
      .selectAll()
      .where("event", "=", "patch_dag")
      .where("dag_id", "=", "etl_daily")
      .execute();
    assert.equal(audit.length, 1);
    assert.equal(audit[0]!.owner, "admin");
    assert.equal(JSON.parse(audit[0]!.extra!).is_paused, false);

    const masked = await get().call("patch_dag", {
      path: { dag_id: "etl_daily" },
      query: { update_mask: ["is_paused"] },
      body: { is_paused: true },
    });
    assert.equal(masked.body.is_paused, true);
    const badMask = await get().call("patch_dag", {
      path: { dag_id: "etl_daily" },
      query: { update_mask: ["description"] },
      body: { is_paused: false },
    });
    assert.equal(badMask.status, 400);
    assert.equal(badMask.body.detail, "Only `is_paused` field can be updated through the REST API");
    assert.equal((await get().call("get_dag", { path: { dag_id: "etl_daily" } })).body.is_paused, true);
    const missing = await get().call("patch_dag", { path: { dag_id: "nope" }, body: { is_paused: true } });
    assert.equal(missing.status, 404);
    const noBody = await get().call("patch_dag", { path: { dag_id: "etl_daily" }, body: {} });
    assert.equal(noBody.status, 422);
    const viewer = await get().call("patch_dag", {
      path: { dag_id: "etl_daily" },
      body: { is_paused: false },
      as: "Viewer",
    });
    assert.equal(viewer.status, 403);
    const user = await get().call("patch_dag", {
      path: { dag_id: "etl_daily" },
      body: { is_paused: false },
      as: "User",
    });
    assert.equal(user.status, 200, "Users may pause and unpause");
    assert.equal(user.body.is_paused, false);
  });

  test("patch_dags pauses every match, never all DAGs without a dag_id_pattern", async () => {
    const r = await get().call("patch_dags", {
      query: { dag_id_pattern: "~", tags: ["prod"], limit: 1 },
      body: { is_paused: false },
    });
    assert.equal(r.status, 200);
    assert.equal(r.body.total_entries, 2);
    assert.deepEqual(ids(r.body), ["etl_daily"], "the page");
    assert.equal(r.body.dags[0].is_paused, false);
    const unpaused = ids((await get().call("get_dags", { query: { paused: false } })).body);
    assert.deepEqual(unpaused, ["etl_daily", "manual_job", "reporting"], "both prod DAGs, not just the page");
    const audited = await get()
      .database.db.selectFrom("audit_log")
      .select("dag_id")
      .where("event", "=", "patch_dags")
      .orderBy("dag_id")
      .execute();
    assert.deepEqual(
      audited.map((a) => a.dag_id),
      ["etl_daily", "reporting"],
    );
    const bare = await get().call("patch_dags", { query: {}, body: { is_paused: true } });
    assert.equal(bare.body.total_entries, 0);
    assert.deepEqual(ids((await get().call("get_dags", { query: { paused: false } })).body).length, 3);
    const pause = await get().call("patch_dags", {
      query: { dag_id_pattern: "etl|report" },
      body: { is_paused: true },
    });
    assert.deepEqual(ids(pause.body), ["etl_daily", "reporting"]);
    assert.ok(pause.body.dags.every((d: { is_paused: boolean }) => d.is_paused));
    const badMask = await get().call("patch_dags", {
      query: { dag_id_pattern: "~", update_mask: ["owners"] },
      body: { is_paused: true },
    });
    assert.equal(badMask.status, 400);
    assert.equal(
      (
        await get().call("patch_dags", {
          query: { dag_id_pattern: "~" },
          body: { is_paused: true },
          as: "Viewer",
        })
      ).status,
      403,
    );
  });

  test("favorite_dag and unfavorite_dag answer 204 for a known DAG, 404 otherwise", async () => {
    assert.equal((await get().call("favorite_dag", { path: { dag_id: "etl_daily" } })).status, 204);
    assert.equal((await get().call("unfavorite_dag", { path: { dag_id: "etl_daily" } })).status, 204);
    assert.equal((await get().call("favorite_dag", { path: { dag_id: "nope" } })).status, 404);
    assert.equal((await get().call("unfavorite_dag", { path: { dag_id: "nope" } })).status, 404);
  });

  test("reparse_dag_file marks the file of a file_token for parsing", async () => {
    const dag = (await get().call("get_dag", { path: { dag_id: "reporting" } })).body;
    const hashOf = async (fileloc: string) =>
      (
        await get()
          .database.db.selectFrom("dag_file")
          .select("content_hash")
          .where("fileloc", "=", fileloc)
          .executeTakeFirstOrThrow()
      ).content_hash;
    assert.notEqual(await hashOf("reporting.ts"), "");
    const r = await get().call("reparse_dag_file", { path: { file_token: dag.file_token } });
    assert.equal(r.status, 201);
    assert.equal(await hashOf("reporting.ts"), "", "the processor parses it on its next pass");
    assert.notEqual(await hashOf("etl.ts"), "", "other files are untouched");
    const audit = await get()
      .database.db.selectFrom("audit_log")
      .selectAll()
      .where("event", "=", "reparse_dag_file")
      .execute();
    assert.equal(audit.length, 1);
    assert.equal(JSON.parse(audit[0]!.extra!).fileloc, "reporting.ts");
    const summary = await processDagFiles(get().config, get().database);
    assert.equal(summary.parsed, 1, "only the marked file is parsed again");
    assert.notEqual(await hashOf("reporting.ts"), "");
    assert.equal((await get().call("reparse_dag_file", { path: { file_token: "bm9wZS50cw" } })).status, 404);
    assert.equal((await get().call("reparse_dag_file", { path: { file_token: "***" } })).status, 404);
    assert.equal(
      (await get().call("reparse_dag_file", { path: { file_token: dag.file_token }, as: "Viewer" })).status,
      403,
    );
  });

  test("delete_dag refuses while a task runs, then deletes every row of the DAG; the file brings it back", async () => {
    const { database } = get();
    const run = (await dagRunStore(database).get("manual_job", "m1"))!;
    const key = { dagId: "manual_job", runId: "m1", taskId: "run" };
    const tis = taskInstanceStore(database);
    assert.ok(await tis.transition(key, "none", "scheduled"));
    assert.ok(await tis.transition(key, "scheduled", "queued"));
    assert.ok(await tis.transition(key, "queued", "running"));
    await xcomStore(database).push(
      { dagRunId: run.id, dagId: "manual_job", runId: "m1", taskId: "run" },
      "42",
    );

    // Airflow answers 409 here although its spec lists no 409 for delete_dag, so call it directly.
    const refused = await get().app.inject({
      method: "DELETE",
      url: "/api/v2/dags/manual_job",
      headers: { authorization: `Bearer ${get().tokens.Admin}` },
    });
    assert.equal(refused.statusCode, 409);
    assert.match(refused.json().detail, /still running/);
    assert.equal((await get().call("get_dag", { path: { dag_id: "manual_job" } })).status, 200);

    assert.ok(await tis.transition(key, "running", "success"));
    assert.equal(
      (await get().call("delete_dag", { path: { dag_id: "manual_job" }, as: "Viewer" })).status,
      403,
    );
    const r = await get().call("delete_dag", { path: { dag_id: "manual_job" } });
    assert.equal(r.status, 200);
    assert.equal((await get().call("get_dag", { path: { dag_id: "manual_job" } })).status, 404);
    for (const table of ["dag_run", "task_instance", "xcom", "dag_tag", "serialized_dag", "dag"] as const) {
      const left = await database.db
        .selectFrom(table)
        .select("dag_id")
        .where("dag_id", "=", "manual_job")
        .execute();
      assert.equal(left.length, 0, `${table} rows are gone`);
    }
    assert.equal(
      (await database.db.selectFrom("dag_run").select("id").where("dag_id", "=", "etl_daily").execute())
        .length,
      2,
    );
    const audit = await database.db
      .selectFrom("audit_log")
      .selectAll()
      .where("event", "=", "delete_dag")
      .execute();
    assert.deepEqual(
      audit.map((a) => a.dag_id),
      ["manual_job"],
    );
    assert.equal((await get().call("delete_dag", { path: { dag_id: "manual_job" } })).status, 404);

    // As in Airflow, a DAG whose file is still there comes back, new, on the next parse.
    await processDagFiles(get().config, database);
    const back = await get().call("get_dag", { path: { dag_id: "manual_job" } });
    assert.equal(back.status, 200);
    assert.deepEqual(
      back.body.tags.map((t: { name: string }) => t.name),
      ["adhoc"],
    );
    assert.equal(
      (await get().call("get_dag_details", { path: { dag_id: "manual_job" } })).body.active_runs_count,
      0,
    );
  });

  test("a DAG whose file is gone is stale: hidden unless exclude_stale=false, its stored source kept", async () => {
    rmSync(join(get().home, "dags", "zz_dup.ts"));
    await processDagFiles(get().config, get().database);
    assert.ok(!ids((await get().call("get_dags", {})).body).includes("dup_ok"));
    const all = await get().call("get_dags", { query: { exclude_stale: false, dag_id_pattern: "dup" } });
    assert.deepEqual(ids(all.body), ["dup_ok"]);
    assert.equal(all.body.dags[0].is_stale, true);
    const source = await get().call("get_dag_source", { path: { dag_id: "dup_ok" } });
    assert.equal(source.status, 200);
    // The text is stored with each version (Airflow's DagCode): it outlives the file.
    assert.match(source.body.content, /dup_ok/);
    const errors = await get().call("get_import_errors", {});
    assert.deepEqual(
      errors.body.import_errors.map((e: { filename: string }) => e.filename),
      ["broken.ts"],
    );
  });
});
