/**
 * The asset paths of /api/v2 on real databases: assets with their producers and consumers, events
 * (POST with Airflow 3's body {asset_id, extra}: 200 with the event, queued for the consumers, 404 for
 * an unknown asset, 422 for a bad body), filters, queued events, a run's upstream events, and the
 * DAG fields and filters that say which DAGs are scheduled on assets.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { pino } from "pino";
import { createAssetTriggeredRuns } from "../../scheduler/asset-runs.ts";
import { forEachApiDatabase } from "../../test-support/api.ts";

const DAGS = {
  "producer.ts": `import { asset, bash, dag } from "updraft";
export default dag({ dagId: "producer" }, () => {
  bash("load", { command: "true", outlets: [asset("s3://lake/orders", { name: "orders", group: "sales", extra: { owner: "ops" } })] });
});`,
  "consumer.ts": `import { anyOf, asset, bash, dag } from "updraft";
export default dag({ dagId: "consumer", schedule: anyOf(asset("s3://lake/orders", { name: "orders" }), asset("s3://lake/refunds")) }, () => {
  bash("report", { command: "true" });
});`,
  "plain.ts": `import { bash, dag } from "updraft";
export default dag({ dagId: "plain" }, () => { bash("t", { command: "true" }); });`,
};

forEachApiDatabase(
  "asset API",
  { dags: DAGS, env: { UPDRAFT__CORE__DAGS_ARE_PAUSED_AT_CREATION: "false" }, allDatabases: true },
  (get) => {
    const assetId = async (uri: string) => {
      const r = await get().call("get_assets", { query: { uri_pattern: uri } });
      return r.body.assets[0].id as number;
    };

    test("assets list with their producing tasks and scheduled DAGs; one asset; 404", async () => {
      const r = await get().call("get_assets", { as: "Viewer" });
      assert.equal(r.status, 200);
      assert.equal(r.body.total_entries, 2);
      const orders = r.body.assets.find((a: { uri: string }) => a.uri === "s3://lake/orders");
      assert.equal(orders.name, "orders");
      assert.equal(orders.group, "sales");
      assert.deepEqual(orders.extra, { owner: "ops" });
      assert.deepEqual(
        orders.producing_tasks.map((t: { dag_id: string; task_id: string }) => [t.dag_id, t.task_id]),
        [["producer", "load"]],
      );
      assert.deepEqual(
        orders.scheduled_dags.map((d: { dag_id: string }) => d.dag_id),
        ["consumer"],
      );
      assert.equal(orders.last_asset_event, null);
      const one = await get().call("get_asset", { path: { asset_id: orders.id } });
      assert.equal(one.body.uri, "s3://lake/orders");
      assert.equal((await get().call("get_assets", { query: { dag_ids: ["plain"] } })).body.total_entries, 0);
      assert.equal(
        (await get().call("get_assets", { query: { name_pattern: "ORD" } })).body.total_entries,
        1,
      );
      const missing = await get().call("get_asset", { path: { asset_id: 9999 } });
      assert.equal(missing.status, 404);
      assert.equal(missing.body.detail, "The Asset with ID: `9999` was not found");
      assert.equal((await get().call("get_asset", { path: { asset_id: "x" } })).status, 422);
    });

    test("POST /assets/events records the event, queues it for the consumer, which then runs", async () => {
      const id = await assetId("s3://lake/orders");
      const r = await get().call("create_asset_event", { body: { asset_id: id, extra: { rows: 7 } } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.asset_id, id);
      assert.equal(r.body.uri, "s3://lake/orders");
      assert.deepEqual(r.body.extra, { rows: 7 });
      assert.equal(r.body.source_dag_id, null);
      assert.equal(r.body.source_map_index, -1);
      assert.deepEqual(r.body.created_dagruns, []);

      const queued = await get().call("get_dag_asset_queued_events", { path: { dag_id: "consumer" } });
      assert.deepEqual(
        queued.body.queued_events.map((q: { dag_id: string; asset_id: number }) => [q.dag_id, q.asset_id]),
        [["consumer", id]],
      );
      const byAsset = await get().call("get_asset_queued_events", { path: { asset_id: id } });
      assert.equal(byAsset.body.total_entries, 1);
      const one = await get().call("get_dag_asset_queued_event", {
        path: { dag_id: "consumer", asset_id: id },
      });
      assert.equal(one.body.asset_id, id);

      assert.equal(
        await createAssetTriggeredRuns(get().database, {
          now: new Date().toISOString(),
          log: pino({ level: "silent" }),
        }),
        1,
      );
      const events = await get().call("get_asset_events", { query: { asset_id: id } });
      assert.equal(events.body.total_entries, 1);
      const [run] = events.body.asset_events[0].created_dagruns;
      assert.equal(run.dag_id, "consumer");
      assert.equal(run.logical_date, null);
      const upstream = await get().call("get_upstream_asset_events", {
        path: { dag_id: "consumer", dag_run_id: run.run_id },
      });
      assert.equal(upstream.status, 200);
      assert.deepEqual(
        upstream.body.asset_events.map((e: { id: number }) => e.id),
        [r.body.id],
      );
      const runBody = await get().call("get_dag_run", {
        path: { dag_id: "consumer", dag_run_id: run.run_id },
      });
      assert.equal(runBody.body.run_type, "asset_triggered");
      assert.equal(
        (await get().call("get_asset", { path: { asset_id: id } })).body.last_asset_event.id,
        r.body.id,
      );
      const gone = await get().call("get_dag_asset_queued_events", { path: { dag_id: "consumer" } });
      assert.deepEqual(gone.body, { queued_events: [], total_entries: 0 }, "the run took the queue");
    });

    test("POST /assets/events: 404 for an unknown asset, 422 for a bad body, 403 for a viewer", async () => {
      const missing = await get().call("create_asset_event", { body: { asset_id: 9999 } });
      assert.equal(missing.status, 404);
      assert.equal(missing.body.detail, "Asset with ID: `9999` was not found");
      assert.equal((await get().call("create_asset_event", { body: { extra: {} } })).status, 422);
      assert.equal((await get().call("create_asset_event", { body: { asset_id: "one" } })).status, 422);
      const id = await assetId("s3://lake/refunds");
      assert.equal(
        (await get().call("create_asset_event", { body: { asset_id: id, extra: [1] } })).status,
        422,
      );
      assert.equal(
        (await get().call("create_asset_event", { as: "Viewer", body: { asset_id: id } })).status,
        403,
      );
    });

    test("event filters and ordering; queued events deleted by DAG", async () => {
      const id = await assetId("s3://lake/refunds");
      await get().call("create_asset_event", { body: { asset_id: id, extra: { n: 1 } } });
      await get().call("create_asset_event", { body: { asset_id: id, extra: { n: 2 } } });
      const all = await get().call("get_asset_events", { query: { order_by: ["-timestamp"] } });
      assert.equal(all.body.total_entries, 3);
      assert.equal(
        (await get().call("get_asset_events", { query: { name_pattern: "orders" } })).body.total_entries,
        1,
      );
      assert.equal(
        (await get().call("get_asset_events", { query: { source_dag_id: "producer" } })).body.total_entries,
        0,
      );
      assert.equal(
        (await get().call("get_asset_events", { query: { timestamp_gte: "2999-01-01T00:00:00Z" } })).body
          .total_entries,
        0,
      );
      const page = await get().call("get_asset_events", {
        query: { asset_id: id, limit: 1, order_by: ["id"] },
      });
      assert.deepEqual(page.body.asset_events[0].extra, { n: 1 });
      const del = await get().call("delete_dag_asset_queued_events", { path: { dag_id: "consumer" } });
      assert.equal(del.status, 204);
      assert.equal(
        (await get().call("get_dag_asset_queued_events", { path: { dag_id: "consumer" } })).body
          .total_entries,
        0,
      );
      const again = await get().call("delete_dag_asset_queued_events", { path: { dag_id: "consumer" } });
      assert.equal(again.status, 404);
    });

    test("DAG fields and filters: has_asset_schedule, asset_dependency, asset_expression", async () => {
      const ids = async (query: Record<string, unknown>) =>
        (await get().call("get_dags", { query })).body.dags.map((d: { dag_id: string }) => d.dag_id);
      assert.deepEqual(await ids({ has_asset_schedule: true }), ["consumer"]);
      assert.deepEqual(await ids({ has_asset_schedule: false }), ["plain", "producer"]);
      assert.deepEqual(await ids({ asset_dependency: "orders" }), ["consumer", "producer"]);
      assert.deepEqual(await ids({ asset_dependency: "refunds" }), ["consumer"]);
      const details = await get().call("get_dag_details", { path: { dag_id: "consumer" } });
      assert.deepEqual(details.body.asset_expression, {
        any: [
          { asset: { uri: "s3://lake/orders", name: "orders" } },
          { asset: { uri: "s3://lake/refunds", name: "s3://lake/refunds" } },
        ],
      });
      assert.equal(details.body.timetable_summary, "Asset");
      const plain = await get().call("get_dag_details", { path: { dag_id: "plain" } });
      assert.equal(plain.body.asset_expression, null);
    });

    test("asset aliases: none here; 404 for one", async () => {
      const r = await get().call("get_asset_aliases", {});
      assert.deepEqual(r.body, { asset_aliases: [], total_entries: 0 });
      assert.equal((await get().call("get_asset_alias", { path: { asset_alias_id: 7 } })).status, 404);
    });
  },
);
