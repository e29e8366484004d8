/**
 * Task instances, their logs, clearing and XCom over the API, on a DAG run for real (driveRun) and on
 * runs whose task instances the test moves itself (a live try writing its log).
 */
import assert from "node:assert/strict";
import { appendFileSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { before, test } from "node:test";
import { pino } from "pino";
import { compressFinishedLog, taskLogPath } from "../../logs/files.ts";
import { createTaskFlowPool, createTaskRunnerDeps } from "../../scheduler/runtime.ts";
import { driveRun } from "../../operations/test-run.ts";
import { triggerDagRun } from "../../operations/trigger-run.ts";
import { nowIso } from "../../storage/database.ts";
import { taskInstanceStore } from "../../storage/task-instances.ts";
import { forEachApiDatabase, type ApiHarness } from "../../test-support/api.ts";

const DAG = `import { dag, bash, empty } from "updraft";
export default dag({ dagId: "ti_api", startDate: "2024-01-01" }, () => {
  const extract = bash("extract", { command: "echo extracting {{ run_id }}" });
  const load = bash("load", { command: "echo loading && exit 1" });
  const report = empty("report");
  extract.before(load);
  load.before(report);
});`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Moves a task instance of a run to running (try 1), as the scheduler and the runner would. */
async function startTry(h: ApiHarness, runId: string, taskId: string): Promise<void> {
  const tis = taskInstanceStore(h.database);
  const key = { dagId: "ti_api", runId, taskId };
  assert.ok(await tis.transition(key, "none", "scheduled"));
  assert.ok(await tis.transition(key, "scheduled", "queued", { queued_dttm: nowIso() }));
  assert.ok(await tis.startTry(key, null, { start_date: nowIso(), hostname: "worker-1", pid: 4242 }));
}

const audited = async (h: ApiHarness, event: string) =>
  h.database.db.selectFrom("audit_log").selectAll().where("event", "=", event).execute();

forEachApiDatabase("task instances, logs, clearing and XCom", { dags: { "ti_api.ts": DAG } }, (get) => {
  const path = (runId: string, taskId: string) => ({ dag_id: "ti_api", dag_run_id: runId, task_id: taskId });

  before(async () => {
    const h = get();
    const log = pino({ level: "silent" });
    const pool = createTaskFlowPool(h.config);
    const deps = createTaskRunnerDeps({ config: h.config, database: h.database, log }, pool);
    // "done": run for real (extract succeeds, load fails, report is upstream_failed).
    const done = await triggerDagRun(h.database, {
      dagId: "ti_api",
      runId: "done",
      logicalDate: new Date("2024-03-01T00:00:00Z"),
    });
    assert.equal(await driveRun(h.database, deps, done, { log, parallelism: 2 }), "failed");
    await pool.close();
    // "live": extract is running and writing its log; "fresh": nothing has happened yet.
    await triggerDagRun(h.database, {
      dagId: "ti_api",
      runId: "live",
      logicalDate: new Date("2024-03-02T00:00:00Z"),
    });
    await triggerDagRun(h.database, {
      dagId: "ti_api",
      runId: "fresh",
      logicalDate: new Date("2024-03-03T00:00:00Z"),
    });
    await h.database.db
      .updateTable("dag_run")
      .set({ state: "running" })
      .where("run_id", "=", "live")
      .execute();
    await startTry(h, "live", "extract");
  });

  test("lists task instances with filters, order and paging", async () => {
    const h = get();
    const all = await h.call("get_task_instances", { path: { dag_id: "ti_api", dag_run_id: "done" } });
    assert.equal(all.status, 200);
    assert.equal(all.body.total_entries, 3);
    const states = Object.fromEntries(all.body.task_instances.map((t: any) => [t.task_id, t.state])); // eslint-disable-line @typescript-eslint/no-explicit-any
    assert.deepEqual(states, { extract: "success", load: "failed", report: "upstream_failed" });

    const failed = await h.call("get_task_instances", {
      path: { dag_id: "ti_api", dag_run_id: "done" },
      query: { state: ["failed", "upstream_failed"], order_by: "-task_id" },
    });
    assert.equal(failed.status, 400, "ordering by task_id is not one of Airflow's fields");
    const failed2 = await h.call("get_task_instances", {
      path: { dag_id: "ti_api", dag_run_id: "done" },
      query: { state: ["failed", "upstream_failed"], order_by: "-state" },
    });
    assert.deepEqual(
      failed2.body.task_instances.map((t: { task_id: string }) => t.task_id),
      ["report", "load"],
    );

    const none = await h.call("get_task_instances", {
      path: { dag_id: "~", dag_run_id: "~" },
      query: { state: "no_status", dag_id_pattern: "ti_" },
    });
    assert.equal(none.body.total_entries, 5, "2 in live, 3 in fresh");

    const everywhere = await h.call("get_task_instances", {
      path: { dag_id: "~", dag_run_id: "~" },
      query: { task_id: "extract", order_by: "-logical_date", limit: 2, offset: 1 },
    });
    assert.equal(everywhere.body.total_entries, 3);
    assert.deepEqual(
      everywhere.body.task_instances.map((t: { dag_run_id: string }) => t.dag_run_id),
      ["live", "done"],
    );

    // Pages past the middle are read from the other end (both the keys path and the joined one).
    const keyOf = (t: { dag_run_id: string; task_id: string }) => `${t.dag_run_id}.${t.task_id}`;
    for (const order_by of [undefined, "-start_date", "start_date", "-duration", "state", "-logical_date"]) {
      const page = async (offset?: number, limit?: number) =>
        (
          await h.call("get_task_instances", {
            path: { dag_id: "~", dag_run_id: "~" },
            query: { dag_id_pattern: "ti_", ...(order_by ? { order_by } : {}), offset, limit },
          })
        ).body.task_instances.map(keyOf);
      const full = await page();
      assert.ok(full.length >= 6, `enough rows to page (${full.length})`);
      for (let offset = 0; offset <= full.length; offset++)
        assert.deepEqual(
          await page(offset, 2),
          full.slice(offset, offset + 2),
          `${order_by} offset ${offset}`,
        );
    }

    const pattern = await h.call("get_task_instances", {
      path: { dag_id: "ti_api", dag_run_id: "~" },
      query: {
        task_display_name_pattern: "rep|loa",
        logical_date_gte: "2024-03-02T00:00:00Z",
        operator: "bash",
      },
    });
    assert.deepEqual(
      pattern.body.task_instances
        .map((t: { task_id: string; dag_run_id: string }) => `${t.dag_run_id}.${t.task_id}`)
        .sort(),
      ["fresh.load", "live.load"],
    );

    const timed = await h.call("get_task_instances", {
      path: { dag_id: "ti_api", dag_run_id: "done" },
      query: { duration_gte: 0, try_number: 1, pool: "default_pool" },
    });
    assert.deepEqual(timed.body.task_instances.map((t: { task_id: string }) => t.task_id).sort(), [
      "extract",
      "load",
    ]);

    assert.equal(
      (await h.call("get_task_instances", { path: { dag_id: "ti_api", dag_run_id: "nope" } })).status,
      404,
    );
    assert.equal(
      (await h.call("get_task_instances", { path: { dag_id: "nope", dag_run_id: "~" } })).status,
      404,
    );
    const bad = await h.call("get_task_instances", {
      path: { dag_id: "ti_api", dag_run_id: "~" },
      query: { state: "bogus" },
    });
    assert.equal(bad.status, 400);
    assert.match(bad.body.detail, /Invalid value for state/);

    const batch = await h.call("get_task_instances_batch", {
      path: { dag_id: "~", dag_run_id: "~" },
      body: { dag_ids: ["ti_api"], state: ["running", "success"], order_by: "-start_date" },
    });
    assert.equal(batch.status, 200);
    assert.deepEqual(
      batch.body.task_instances.map((t: { dag_run_id: string }) => t.dag_run_id),
      ["live", "done"],
    );
  });

  test("gets one task instance, its tries and its dependencies", async () => {
    const h = get();
    const r = await h.call("get_task_instance", { path: path("done", "extract") });
    assert.equal(r.status, 200);
    const ti = r.body;
    assert.match(ti.id, UUID);
    assert.equal(ti.state, "success");
    assert.equal(ti.try_number, 1);
    assert.equal(ti.logical_date, "2024-03-01T00:00:00.000Z");
    assert.equal(ti.operator, "bash");
    assert.equal(ti.map_index, -1);
    assert.equal(typeof ti.duration, "number");
    assert.deepEqual(Object.keys(ti.rendered_fields).includes("command"), true);
    assert.match(String(ti.rendered_fields.command), /extracting \{\{ run_id \}\}|extracting done/);
    const again = await h.call("get_task_instance", { path: path("done", "extract") });
    assert.equal(again.body.id, ti.id, "the id is stable");

    const mapped = await h.call("get_mapped_task_instance", {
      path: { ...path("done", "extract"), map_index: -1 },
    });
    assert.equal(mapped.body.id, ti.id);
    assert.equal(
      (await h.call("get_mapped_task_instance", { path: { ...path("done", "extract"), map_index: 0 } }))
        .status,
      404,
    );
    const listMapped = await h.call("get_mapped_task_instances", { path: path("done", "extract") });
    assert.equal(listMapped.status, 404);
    assert.match(listMapped.body.detail, /is not mapped/);
    const missing = await h.call("get_task_instance", { path: path("done", "nope") });
    assert.equal(missing.status, 404);
    assert.match(missing.body.detail, /task_id: `nope` was not found/);

    const tries = await h.call("get_task_instance_tries", { path: path("done", "load") });
    assert.equal(tries.body.total_entries, 1);
    assert.equal(tries.body.task_instances[0].state, "failed");
    assert.equal(tries.body.task_instances[0].try_number, 1);
    const live = await h.call("get_task_instance_tries", { path: path("live", "extract") });
    assert.deepEqual(
      live.body.task_instances.map((t: { state: string; try_number: number; hostname: string }) => [
        t.state,
        t.try_number,
        t.hostname,
      ]),
      [["running", 1, "worker-1"]],
    );
    const one = await h.call("get_task_instance_try_details", {
      path: { ...path("done", "extract"), task_try_number: 1 },
    });
    assert.equal(one.body.state, "success");
    assert.equal(
      (
        await h.call("get_task_instance_try_details", {
          path: { ...path("done", "extract"), task_try_number: 2 },
        })
      ).status,
      404,
    );
    const mappedTry = await h.call("get_mapped_task_instance_try_details", {
      path: { ...path("done", "extract"), map_index: -1, task_try_number: 1 },
    });
    assert.equal(mappedTry.body.try_number, 1);

    const deps = await h.call("get_task_instance_dependencies", { path: path("fresh", "report") });
    const names = deps.body.dependencies.map((d: { name: string }) => d.name);
    // New DAGs start paused; the run is queued; report waits for load.
    assert.deepEqual(names, ["Dag Not Paused", "Dagrun Running", "Task Instance State", "Trigger Rule"]);
    assert.match(deps.body.dependencies[3].reason, /all_success.*load=none/);
    const finished = await h.call("get_task_instance_dependencies_by_map_index", {
      path: { ...path("done", "extract"), map_index: -1 },
    });
    assert.deepEqual(finished.body.dependencies, []);
    assert.equal(
      (await h.call("get_task_instance_dependencies", { path: path("done", "nope") })).status,
      404,
    );

    const links = await h.call("get_extra_links", { path: path("done", "extract") });
    assert.deepEqual(links.body, { extra_links: {}, total_entries: 0 });
    assert.equal(
      (await h.call("get_hitl_details", { path: { dag_id: "ti_api", dag_run_id: "done" } })).body
        .total_entries,
      0,
    );
    assert.equal(
      (await h.call("get_hitl_detail", { path: { ...path("done", "extract"), map_index: -1 } })).status,
      404,
    );
  });

  test("reads a finished try's gzipped log and a running try's live log, as JSON and text", async () => {
    const h = get();
    const base = h.config.values.logging.base_log_folder;
    const finishedPath = taskLogPath(base, {
      dag_id: "ti_api",
      run_id: "done",
      task_id: "extract",
      map_index: -1,
      try_number: 1,
    });
    // A log of one block stays plain when its try ends: gzip it here, to read the gzipped form.
    if (existsSync(finishedPath)) await compressFinishedLog(finishedPath, undefined, { minBytes: 0 });
    assert.ok(existsSync(`${finishedPath}.gz`) && !existsSync(finishedPath), "the log is gzipped");
    const json = await h.call("get_log", { path: { ...path("done", "extract"), try_number: 1 } });
    assert.equal(json.status, 200);
    assert.equal(json.body.continuation_token, null, "a finished try's log has no more to come");
    assert.ok(json.body.content.some((m: { event: string }) => m.event === "extracting done"));

    const text = await h.app.inject({
      url: "/api/v2/dags/ti_api/dagRuns/done/taskInstances/extract/logs/1",
      headers: { authorization: `Bearer ${h.tokens.Viewer}`, accept: "text/plain" },
    });
    assert.equal(text.statusCode, 200);
    assert.match(String(text.headers["content-type"]), /^text\/plain/);
    // Every line with its time, stream and level, as Airflow's file log prints them.
    assert.match(text.body, /^\[\d{4}-\d\d-\d\dT[\d:.]+Z\] \{stdout\} INFO - extracting done$/m);

    // The live try: the runner appends to an uncompressed file.
    const livePath = taskLogPath(base, {
      dag_id: "ti_api",
      run_id: "live",
      task_id: "extract",
      map_index: -1,
      try_number: 1,
    });
    mkdirSync(dirname(livePath), { recursive: true });
    writeFileSync(livePath, "[2024-03-02T00:00:01.000Z] {updraft} starting try 1\nfirst line\n");
    const first = await h.call("get_log", {
      path: { ...path("live", "extract"), try_number: 1 },
      as: "Viewer",
    });
    assert.deepEqual(first.body.content, [
      { timestamp: "2024-03-02T00:00:01.000Z", event: "starting try 1", logger: "updraft", level: "info" },
      // a bare line (a log written before output was stamped) reads as it is
      { event: "first line", level: "info" },
    ]);
    assert.ok(first.body.continuation_token, "a running try's log goes on");
    appendFileSync(livePath, "second line\n");
    const next = await h.call("get_log", {
      path: { ...path("live", "extract"), try_number: 1 },
      query: { token: first.body.continuation_token },
    });
    assert.deepEqual(next.body.content, [{ event: "second line", level: "info" }]);
    const full = await h.call("get_log", {
      path: { ...path("live", "extract"), try_number: 1 },
      query: { token: next.body.continuation_token, full_content: true },
    });
    assert.equal(full.body.content.length, 3);
    const liveText = await h.app.inject({
      url: "/api/v2/dags/ti_api/dagRuns/live/taskInstances/extract/logs/1",
      headers: { authorization: `Bearer ${h.tokens.Viewer}`, accept: "text/plain" },
    });
    assert.equal(liveText.body.split("\n").filter(Boolean).length, 3);
    assert.ok(liveText.headers["airflow-continuation-token"]);

    const ndjson = await h.app.inject({
      url: "/api/v2/dags/ti_api/dagRuns/live/taskInstances/extract/logs/1",
      headers: { authorization: `Bearer ${h.tokens.Viewer}`, accept: "application/x-ndjson" },
    });
    assert.deepEqual(
      ndjson.body
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l).event),
      ["starting try 1", "first line", "second line"],
    );

    // A try that has started but not written yet: the notice once, then nothing until lines come.
    await triggerDagRun(h.database, {
      dagId: "ti_api",
      runId: "unwritten",
      logicalDate: new Date("2024-03-04T00:00:00Z"),
    });
    await startTry(h, "unwritten", "extract");
    const unwritten = await h.call("get_log", {
      path: { ...path("unwritten", "extract"), try_number: 1 },
    });
    assert.match(unwritten.body.content[0].event, /has not been written yet/);
    assert.ok(unwritten.body.continuation_token);
    const followed = await h.call("get_log", {
      path: { ...path("unwritten", "extract"), try_number: 1 },
      query: { token: unwritten.body.continuation_token },
    });
    assert.deepEqual(followed.body.content, [], "a follower is not told the notice again");
    assert.ok(followed.body.continuation_token);

    assert.equal(
      (await h.call("get_log", { path: { ...path("done", "extract"), try_number: 2 } })).status,
      404,
    );
    const external = await h.call("get_external_log_url", {
      path: { ...path("done", "extract"), try_number: 1 },
    });
    assert.equal(external.status, 400);
  });

  test("patches state as a user's mark: failed to success, dry run, note, roles", async () => {
    const h = get();
    const viewer = await h.call("patch_task_instance", {
      path: path("live", "extract"),
      body: { new_state: "success" },
      as: "Viewer",
    });
    assert.equal(viewer.status, 403);

    // Airflow's everyday fix: a failed task marked success by hand (a user's mark, see core/states.ts).
    const dryFix = await h.call("patch_task_instance_dry_run", {
      path: path("done", "load"),
      body: { new_state: "success" },
    });
    assert.equal(dryFix.status, 200);
    assert.equal(dryFix.body.task_instances[0].state, "failed", "a dry run shows the instance as it is");
    assert.equal((await h.call("get_task_instance", { path: path("done", "load") })).body.state, "failed");
    const fixed = await h.call("patch_task_instance", {
      path: path("done", "load"),
      body: { new_state: "success" },
    });
    assert.equal(fixed.status, 200, JSON.stringify(fixed.body));
    assert.equal((await h.call("get_task_instance", { path: path("done", "load") })).body.state, "success");
    const notMarkable = await h.call("patch_task_instance", {
      path: path("live", "extract"),
      body: { new_state: "running" },
    });
    assert.equal(notMarkable.status, 422);

    const legal = await h.call("patch_task_instance", {
      path: path("live", "extract"),
      body: { new_state: "success", note: "checked by hand" },
    });
    assert.equal(legal.status, 200);
    assert.equal(legal.body.total_entries, 1);
    assert.equal(legal.body.task_instances[0].state, "success");
    assert.equal(legal.body.task_instances[0].note, "checked by hand");
    assert.ok(legal.body.task_instances[0].end_date);
    const again = await h.call("patch_task_instance", {
      path: path("live", "extract"),
      body: { new_state: "success" },
    });
    assert.equal(again.status, 409);
    assert.match(again.body.detail, /already in success state/);

    const dry = await h.call("patch_task_instance_dry_run", {
      path: path("fresh", "load"),
      body: { new_state: "skipped", include_downstream: true },
    });
    assert.equal(dry.status, 200);
    assert.deepEqual(
      dry.body.task_instances.map((t: { task_id: string; state: null }) => [t.task_id, t.state]),
      [
        ["load", null],
        ["report", null],
      ],
    );
    assert.equal((await h.call("get_task_instance", { path: path("fresh", "report") })).body.state, null);

    const byIndex = await h.call("patch_task_instance_by_map_index", {
      path: { ...path("fresh", "load"), map_index: -1 },
      body: { new_state: "skipped", include_downstream: true },
    });
    assert.equal(byIndex.status, 200);
    assert.deepEqual(
      byIndex.body.task_instances.map((t: { task_id: string }) => t.task_id),
      ["load"],
    );
    assert.equal(
      (await h.call("get_task_instance", { path: path("fresh", "report") })).body.state,
      "skipped",
    );

    const noteOnly = await h.call("patch_task_instance", {
      path: path("done", "load"),
      body: { note: "known flaky" },
      query: { update_mask: "note" },
    });
    assert.equal(noteOnly.body.task_instances[0].note, "known flaky");
    assert.equal(noteOnly.body.task_instances[0].state, "success");
    // And back (success to failed is a user's mark too), for the clearing test below.
    const back = await h.call("patch_task_instance", {
      path: path("done", "load"),
      body: { new_state: "failed" },
    });
    assert.equal(back.status, 200);
    assert.equal(
      (await h.call("patch_task_instance", { path: path("done", "nope"), body: { note: "x" } })).status,
      404,
    );

    const events = await audited(h, "patch_task_instance");
    assert.equal(events.length, 5, "four marks and a note; refused and dry-run requests are not audited");
    assert.equal(events[0]!.owner, "admin");
    assert.equal(events[0]!.task_id, "load", "the first mark: done.load failed -> success");
  });

  test("clears task instances: dry run changes nothing, a real clear resets them and requeues the run", async () => {
    const h = get();
    const dry = await h.call("post_clear_task_instances", {
      path: { dag_id: "ti_api" },
      body: { dag_run_id: "done" },
    });
    assert.equal(dry.status, 200);
    assert.deepEqual(
      dry.body.task_instances.map((t: { task_id: string; state: string }) => [t.task_id, t.state]),
      [
        ["load", "failed"],
        ["report", "upstream_failed"],
      ],
    );
    assert.equal((await audited(h, "post_clear_task_instances")).length, 0);

    const viewer = await h.call("post_clear_task_instances", {
      path: { dag_id: "ti_api" },
      body: { dag_run_id: "done", dry_run: false },
      as: "Viewer",
    });
    assert.equal(viewer.status, 403);

    const real = await h.call("post_clear_task_instances", {
      path: { dag_id: "ti_api" },
      body: {
        dag_run_id: "done",
        dry_run: false,
        only_failed: false,
        task_ids: ["load"],
        include_downstream: true,
      },
      as: "User",
    });
    assert.equal(real.status, 200);
    assert.deepEqual(
      real.body.task_instances.map((t: { task_id: string; state: null }) => [t.task_id, t.state]),
      [
        ["load", null],
        ["report", null],
      ],
    );
    assert.equal(
      (await h.call("get_task_instance", { path: path("done", "extract") })).body.state,
      "success",
    );
    const run = await h.database.db
      .selectFrom("dag_run")
      .select("state")
      .where("run_id", "=", "done")
      .executeTakeFirstOrThrow();
    assert.equal(run.state, "queued");
    const events = await audited(h, "post_clear_task_instances");
    assert.equal(events.length, 1);
    assert.equal(events[0]!.owner, "user");

    // A running task instance: prevent_running_task refuses, only_running clears just it (to restarting).
    await startTry(h, "live", "load");
    const refused = await h.call("post_clear_task_instances", {
      path: { dag_id: "ti_api" },
      body: { dag_run_id: "live", dry_run: false, only_failed: false, prevent_running_task: true },
    });
    assert.equal(refused.status, 409);
    assert.match(refused.body.detail, /load \(run live\)/);
    const running = await h.call("post_clear_task_instances", {
      path: { dag_id: "ti_api" },
      body: { dag_run_id: "live", dry_run: false, only_failed: false, only_running: true },
    });
    assert.deepEqual(
      running.body.task_instances.map((t: { task_id: string; state: string }) => [t.task_id, t.state]),
      [["load", "restarting"]],
    );
    assert.equal(
      (await h.call("get_task_instance", { path: path("live", "extract") })).body.state,
      "success",
    );

    assert.equal(
      (await h.call("post_clear_task_instances", { path: { dag_id: "nope" }, body: {} })).status,
      404,
    );
    assert.equal(
      (
        await h.call("post_clear_task_instances", {
          path: { dag_id: "ti_api" },
          body: { dag_run_id: "nope" },
        })
      ).status,
      404,
    );
  });

  test("XCom entries: create, read, list, update, delete", async () => {
    const h = get();
    const x = (key = "") => ({ ...path("fresh", "extract"), ...(key ? { xcom_key: key } : {}) });
    const created = await h.call("create_xcom_entry", {
      path: x(),
      body: { key: "rows", value: { n: 3, ok: true } },
    });
    assert.equal(created.status, 201);
    assert.deepEqual(created.body.value, { n: 3, ok: true });
    assert.equal(created.body.logical_date, "2024-03-03T00:00:00.000Z");
    const dup = await h.call("create_xcom_entry", { path: x(), body: { key: "rows", value: 1 } });
    assert.equal(dup.status, 400);
    assert.match(dup.body.detail, /already exists/);
    assert.equal(
      (await h.call("create_xcom_entry", { path: path("fresh", "nope"), body: { key: "k", value: 1 } }))
        .status,
      404,
    );
    assert.equal(
      (await h.call("create_xcom_entry", { path: x(), body: { key: "k", value: 1 }, as: "Viewer" })).status,
      403,
    );
    await h.call("create_xcom_entry", { path: x(), body: { key: "greeting", value: "hi" } });

    const read = await h.call("get_xcom_entry", { path: x("rows"), as: "Viewer" });
    assert.deepEqual(read.body.value, { n: 3, ok: true });
    const str = await h.call("get_xcom_entry", { path: x("rows"), query: { stringify: true } });
    assert.equal(str.body.value, '{"n":3,"ok":true}');
    const list = await h.call("get_xcom_entries", { path: { dag_id: "~", dag_run_id: "~", task_id: "~" } });
    // Across every DAG and run: the bash tasks run earlier pushed their last line as return_value too.
    assert.deepEqual(
      list.body.xcom_entries
        .filter((e: { run_id: string }) => e.run_id === "fresh")
        .map((e: { key: string }) => e.key),
      ["greeting", "rows"],
    );
    assert.equal(list.body.total_entries, list.body.xcom_entries.length);
    const filtered = await h.call("get_xcom_entries", { path: x(), query: { xcom_key: "rows" } });
    assert.equal(filtered.body.total_entries, 1);
    const patterned = await h.call("get_xcom_entries", {
      path: x(),
      query: { xcom_key_pattern: "greet", limit: 1 },
    });
    assert.deepEqual(
      patterned.body.xcom_entries.map((e: { key: string }) => e.key),
      ["greeting"],
    );

    const updated = await h.call("update_xcom_entry", { path: x("rows"), body: { value: [1, 2] } });
    assert.equal(updated.status, 200);
    assert.deepEqual((await h.call("get_xcom_entry", { path: x("rows") })).body.value, [1, 2]);
    assert.equal((await h.call("update_xcom_entry", { path: x("nope"), body: { value: 1 } })).status, 404);

    assert.equal((await h.call("delete_xcom_entry", { path: x("rows") })).status, 204);
    assert.equal((await h.call("get_xcom_entry", { path: x("rows") })).status, 404);
    assert.equal((await h.call("delete_xcom_entry", { path: x("rows") })).status, 404);
    for (const event of ["create_xcom_entry", "update_xcom_entry", "delete_xcom_entry"])
      assert.ok((await audited(h, event)).length >= 1, `${event} is audited`);
  });

  test("bulk update and delete, and delete one task instance", async () => {
    const h = get();
    const bulk = await h.call("bulk_task_instances", {
      path: { dag_id: "ti_api", dag_run_id: "fresh" },
      body: {
        actions: [
          {
            action: "update",
            entities: [
              { task_id: "extract", note: "bulk note" },
              { task_id: "nope", note: "x" },
            ],
          },
          { action: "delete", entities: ["ghost"], action_on_non_existence: "skip" },
          { action: "create", entities: [{ task_id: "extract" }] },
        ],
      },
    });
    assert.equal(bulk.status, 200);
    assert.deepEqual(bulk.body.update.success, ["ti_api.fresh.extract[-1]"]);
    assert.equal(bulk.body.update.errors.length, 1);
    assert.equal(bulk.body.update.errors[0].status_code, 404);
    assert.deepEqual(bulk.body.delete, { success: [], errors: [] });
    assert.equal(bulk.body.create.errors[0].status_code, 405);
    assert.equal(
      (await h.call("get_task_instance", { path: path("fresh", "extract") })).body.note,
      "bulk note",
    );

    const deleted = await h.call("delete_task_instance", { path: path("fresh", "extract") });
    assert.equal(deleted.status, 200);
    assert.equal((await h.call("get_task_instance", { path: path("fresh", "extract") })).status, 404);
    assert.equal((await h.call("delete_task_instance", { path: path("fresh", "extract") })).status, 404);
    assert.equal(
      (await h.call("delete_task_instance", { path: path("fresh", "load"), as: "Viewer" })).status,
      403,
    );
    assert.equal((await audited(h, "delete_task_instance")).length, 1);
    assert.equal((await audited(h, "bulk_task_instances")).length, 1);
  });
});

forEachApiDatabase("a page of 1,000 task instances", { dags: { "ti_api.ts": DAG } }, (get) => {
  test("a run's 1,000-row page is read whole (SQLite caps the terms of one expression)", async () => {
    const h = get();
    const run = await triggerDagRun(h.database, { dagId: "ti_api", runId: "wide" });
    const model = await h.database.db
      .selectFrom("task_instance")
      .selectAll()
      .where("dag_run_id", "=", run.id)
      .where("task_id", "=", "extract")
      .executeTakeFirstOrThrow();
    const extra = Array.from({ length: 1100 }, (_, i) => ({
      ...model,
      task_id: `w${String(i).padStart(4, "0")}`,
    }));
    for (let i = 0; i < extra.length; i += 100)
      await h.database.db
        .insertInto("task_instance")
        .values(extra.slice(i, i + 100))
        .execute();
    const page = await h.call("get_task_instances", {
      path: { dag_id: "ti_api", dag_run_id: "wide" },
      query: { limit: 1000, order_by: ["id"] },
    });
    assert.equal(page.status, 200, JSON.stringify(page.body));
    assert.equal(page.body.total_entries, 1103);
    assert.equal(page.body.task_instances.length, 1000);
    const ids = page.body.task_instances.map((t: { task_id: string }) => t.task_id);
    assert.deepEqual(ids, [...ids].sort(), "in task id order across the slices");
    assert.equal(new Set(ids).size, 1000);
  });
});
