import assert from "node:assert/strict";
import { test } from "node:test";
import { triggerDagRun } from "../../operations/trigger-run.ts";
import { jobStore } from "../../storage/jobs.ts";
import { forEachApiDatabase } from "../../test-support/api.ts";
import { CONFIG_NOT_EXPOSED } from "./misc.ts";

const DAG = `import { dag, empty } from "updraft";
export default dag({ dagId: "audited", schedule: null, startDate: "2024-01-01" }, () => {
  empty("t");
});
`;

forEachApiDatabase(
  "event logs, jobs, config, plugins, providers, assets (assets.test.ts)",
  { dags: { "audited.ts": DAG } },
  (get) => {
    const raw = (url: string, accept?: string, role: "Admin" | "User" = "Admin") =>
      get().app.inject({
        method: "GET",
        url,
        headers: { authorization: `Bearer ${get().tokens[role]}`, ...(accept ? { accept } : {}) },
      });

    test("event logs: written by changes, filtered, ordered, paged, one by id", async () => {
      const { database } = get();
      await get().call("post_variable", { as: "Op", body: { key: "ev_a", value: "1" } });
      await get().call("patch_variable", {
        as: "Op",
        path: { variable_key: "ev_a" },
        body: { key: "ev_a", value: "2" },
      });
      await get().call("post_pool", { body: { name: "ev_pool", slots: 1 } });
      await get().call("delete_variable", { path: { variable_key: "ev_a" } });
      // A task-level entry, as the scheduler or a task action writes one, on a real run.
      const run = await triggerDagRun(database, { dagId: "audited", runId: "audited_run" });
      await database.db
        .insertInto("audit_log")
        .values({
          dttm: "2030-01-01T00:00:00.000Z",
          event: "running",
          owner: "updraft",
          dag_id: "audited",
          task_id: "t",
          run_id: run.run_id,
          map_index: -1,
          try_number: 1,
          extra: '{"host":"worker-1"}',
        })
        .execute();

      const byOp = await get().call("get_event_logs", {
        as: "Viewer",
        query: { owner: "op", order_by: ["when"] },
      });
      assert.equal(byOp.status, 200, "Viewer reads event logs");
      assert.deepEqual(
        byOp.body.event_logs.map((e: { event: string }) => e.event),
        ["post_variable", "patch_variable"],
      );
      const first = byOp.body.event_logs[0];
      assert.equal(JSON.parse(first.extra).key, "ev_a");
      assert.equal(JSON.parse(first.extra).method, "POST");
      assert.equal(first.dag_id, null);
      assert.equal(first.logical_date, null);

      const included = await get().call("get_event_logs", {
        query: { included_events: ["post_pool", "delete_variable"], order_by: ["-event_log_id"] },
      });
      assert.deepEqual(
        included.body.event_logs.map((e: { event: string }) => e.event),
        ["delete_variable", "post_pool"],
      );
      const excluded = await get().call("get_event_logs", {
        query: {
          excluded_events: ["post_variable", "patch_variable", "delete_variable"],
          event_pattern: "variable",
        },
      });
      assert.equal(excluded.body.total_entries, 0);

      const task = await get().call("get_event_logs", {
        query: { dag_id: "audited", task_id: "t", run_id: "audited_run", map_index: -1, try_number: 1 },
      });
      assert.equal(task.body.total_entries, 1);
      const entry = task.body.event_logs[0];
      assert.equal(entry.logical_date, run.logical_date, "the logical date comes from the run");
      assert.equal(entry.when, "2030-01-01T00:00:00.000Z");
      assert.equal(entry.dag_display_name, "audited");
      for (const query of [
        { dag_id_pattern: "AUDIT" },
        { task_id_pattern: "t", run_id_pattern: "_run" },
        { owner_pattern: "updr" },
        { after: "2029-12-31T23:59:59Z" },
      ]) {
        const r = await get().call("get_event_logs", { query });
        assert.deepEqual(
          r.body.event_logs.map((e: { event_log_id: number }) => e.event_log_id),
          [entry.event_log_id],
          JSON.stringify(query),
        );
      }
      const before = await get().call("get_event_logs", { query: { before: "2029-12-31T23:59:59Z" } });
      assert.ok(before.body.event_logs.every((e: { event: string }) => e.event !== "running"));
      assert.equal(before.body.total_entries, 4);

      const paged = await get().call("get_event_logs", { query: { limit: 2, offset: 1, order_by: ["id"] } });
      assert.equal(paged.body.total_entries, 5);
      assert.deepEqual(
        paged.body.event_logs.map((e: { event: string }) => e.event),
        ["patch_variable", "post_pool"],
      );
      const byLogicalDate = await get().call("get_event_logs", {
        query: { order_by: ["-logical_date", "id"] },
      });
      assert.equal(byLogicalDate.status, 200);

      const one = await get().call("get_event_log", { path: { event_log_id: entry.event_log_id } });
      assert.equal(one.status, 200);
      assert.deepEqual(one.body, entry);
      const missing = await get().call("get_event_log", { path: { event_log_id: 99999 } });
      assert.equal(missing.status, 404);
      assert.equal(missing.body.detail, "The Event Log with id: `99999` not found");
      assert.equal((await get().call("get_event_log", { path: { event_log_id: "abc" } })).status, 422);
    });

    test("jobs: filters by type, state, liveness and dates; order and paging; Op only", async () => {
      const jobs = jobStore(get().database);
      const now = Date.now();
      const at = (secondsAgo: number) => new Date(now - secondsAgo * 1000).toISOString();
      const old = await jobs.start("scheduler", at(3600));
      await jobs.end(old, "success", at(1800));
      const stale = await jobs.start("scheduler", at(600));
      const alive = await jobs.start("scheduler", at(60));
      await jobs.heartbeat(alive, null, at(1));
      const processor = await jobs.start("dag_processor", at(30));

      const all = await get().call("get_jobs", { query: { order_by: ["-id"] } });
      assert.equal(all.status, 200);
      assert.deepEqual(
        all.body.jobs.map((j: { id: number }) => j.id),
        [processor, alive, stale, old],
      );
      assert.equal(all.body.jobs[0].job_type, "dag_processor");
      assert.equal(all.body.jobs[0].unixname, null);
      const ids = async (query: Record<string, unknown>) =>
        (await get().call("get_jobs", { query: { order_by: ["id"], ...query } })).body.jobs.map(
          (j: { id: number }) => j.id,
        );
      assert.deepEqual(await ids({ job_type: "scheduler" }), [old, stale, alive]);
      assert.deepEqual(await ids({ job_type: "scheduler", is_alive: true }), [alive]);
      assert.deepEqual(await ids({ job_type: "scheduler", is_alive: false }), [old, stale]);
      assert.deepEqual(await ids({ job_state: "success" }), [old]);
      assert.deepEqual(await ids({ start_date_gte: at(700), start_date_lt: at(300) }), [stale]);
      assert.deepEqual(await ids({ end_date_lte: at(0) }), [old]);
      assert.deepEqual(await ids({ executor_class: "LocalExecutor" }), []);
      const page = await get().call("get_jobs", {
        query: { limit: 1, offset: 1, order_by: ["start_date", "unixname"] },
      });
      assert.equal(page.body.total_entries, 4);
      assert.deepEqual(
        page.body.jobs.map((j: { id: number }) => j.id),
        [stale],
      );
      const bad = await get().call("get_jobs", { query: { order_by: ["pid"] } });
      assert.equal(bad.status, 400);
      assert.equal((await get().call("get_jobs", { query: { start_date_gte: "yesterday" } })).status, 422);
      assert.equal((await get().call("get_jobs", { as: "User" })).status, 403);
    });

    test("config: 403 unless exposed; sensitive values hidden; JSON or text; 404 and 406", async () => {
      const { config } = get();
      // The same object the webserver reads: as if [api] expose_config were set in updraft.toml.
      const api = config.values.api as { expose_config: boolean };
      const closed = await get().call("get_config", {});
      assert.equal(closed.status, 403);
      assert.equal(closed.body.detail, CONFIG_NOT_EXPOSED);
      assert.equal(
        (await get().call("get_config_value", { path: { section: "api", option: "port" } })).status,
        403,
      );
      api.expose_config = true;
      try {
        assert.equal((await get().call("get_config", { as: "User" })).status, 403, "User never reads config");
        const all = await get().call("get_config", {});
        assert.equal(all.status, 200);
        const section = (name: string) => all.body.sections.find((s: { name: string }) => s.name === name);
        const option = (s: string, key: string) =>
          section(s).options.find((o: { key: string }) => o.key === key).value;
        assert.equal(option("core", "load_examples"), "false");
        assert.equal(option("api", "expose_config"), "true");
        assert.equal(option("security", "encryption_key"), "< hidden >");
        assert.equal(option("database", "url"), "< hidden >");
        assert.ok(!JSON.stringify(all.body).includes(config.values.security.encryption_key));

        const one = await get().call("get_config", { query: { section: "scheduler" } });
        assert.deepEqual(
          one.body.sections.map((s: { name: string }) => s.name),
          ["scheduler"],
        );
        const noSection = await get().call("get_config", { query: { section: "kerberos" } });
        assert.equal(noSection.status, 404);
        assert.equal(noSection.body.detail, "Section kerberos not found.");

        const value = await get().call("get_config_value", { path: { section: "api", option: "port" } });
        assert.deepEqual(value.body, {
          sections: [{ name: "api", options: [{ key: "port", value: "8080" }] }],
        });
        const hidden = await get().call("get_config_value", {
          path: { section: "api", option: "secret_key" },
        });
        assert.equal(hidden.body.sections[0].options[0].value, "< hidden >");
        const noOption = await get().call("get_config_value", { path: { section: "api", option: "colour" } });
        assert.equal(noOption.status, 404);
        assert.equal(noOption.body.detail, "Option [api/colour] not found.");

        const text = await raw("/api/v2/config?section=api", "text/plain");
        assert.equal(text.statusCode, 200);
        assert.match(text.headers["content-type"] as string, /^text\/plain/);
        assert.match(text.body, /^\[api\]\nhost = 127\.0\.0\.1\n/);
        assert.match(text.body, /secret_key = < hidden >/);
        const valueText = await raw("/api/v2/config/section/core/option/parallelism", "text/plain");
        assert.equal(valueText.body, "[core]\nparallelism = 32\n");
        const json = await raw("/api/v2/config/section/core/option/parallelism", "application/json");
        assert.equal(json.json().sections[0].options[0].value, "32");
        const xml = await raw("/api/v2/config", "application/xml");
        assert.equal(xml.statusCode, 406);
        assert.equal(xml.json().detail, "Only application/json or text/plain is supported");
      } finally {
        api.expose_config = false;
      }
    });

    test("plugins: an empty list; providers: Updraft's own (assets: ./assets.test.ts)", async () => {
      const empty: [string, string][] = [
        ["get_plugins", "plugins"],
        ["import_errors", "import_errors"],
      ];
      for (const [op, field] of empty) {
        const r = await get().call(op, {});
        assert.equal(r.status, 200, op);
        assert.deepEqual(r.body, { [field]: [], total_entries: 0 }, op);
      }
      assert.equal((await get().call("get_plugins", { as: "Viewer" })).status, 403);
      assert.equal((await get().call("get_providers", { as: "User" })).status, 403);
      // Providers: Updraft's own one (src/providers/providers.test.ts covers packages that declare one).
      const providers = await get().call("get_providers", {});
      assert.equal(providers.body.total_entries, 1);
      assert.equal(providers.body.providers[0].package_name, "updraft-orchestrator");
    });
  },
);
