/**
 * Assets end to end, in a real standalone and browser: the example pair (example_asset_producer /
 * example_asset_consumer) with the real scheduler. A manual run of the producer succeeds, its event
 * starts an asset-triggered run of the consumer, which succeeds; the Assets page (reached from the
 * navigation) lists the asset with its producer and consumer, and the asset's page shows the event
 * and the run it started.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { adminSession, eventually, finishedRun, missing } from "./harness.ts";

const example = (name: string) =>
  readFileSync(new URL(`../../updraft/examples/dags/${name}.ts`, import.meta.url), "utf8");

const s = adminSession({
  dagFiles: {
    "example_asset_producer.ts": example("example_asset_producer"),
    "example_asset_consumer.ts": example("example_asset_consumer"),
  },
  env: { UPDRAFT__CORE__DAGS_ARE_PAUSED_AT_CREATION: "false" },
});

test(
  "the producer's success starts the consumer through the scheduler; the Assets pages show it",
  { skip: missing },
  async () => {
    const producerRun = await finishedRun(s.server, "example_asset_producer", { tasks: 2, state: "success" });
    const consumerRun = await eventually(
      async () => {
        const runs = await s.server.apiGet("/api/v2/dags/example_asset_consumer/dagRuns");
        const run = runs.dag_runs.find(
          (r: { run_type: string; state: string }) => r.run_type === "asset_triggered",
        );
        assert.equal(run?.state, "success");
        return run;
      },
      120_000,
      "an asset-triggered run of the consumer succeeded",
    );
    assert.equal(consumerRun.logical_date, null);
    const upstream = await s.server.apiGet(
      `/api/v2/dags/example_asset_consumer/dagRuns/${encodeURIComponent(consumerRun.dag_run_id)}/upstreamAssetEvents`,
    );
    assert.equal(upstream.asset_events[0].source_run_id, producerRun);
    assert.deepEqual(upstream.asset_events[0].extra, { rows: 42, source: "orders-api" });

    const page = s.page;
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Assets" }).click();
    await page.getByRole("heading", { name: "Assets" }).waitFor();
    const row = page.getByRole("table", { name: "Assets" }).getByRole("row", { name: /orders/ });
    await row.getByText("example_asset_producer.extract_orders").waitFor();
    await row.getByText("example_asset_consumer").waitFor();
    await row.getByRole("link", { name: "orders" }).click();
    await page.getByRole("list", { name: "Producing tasks" }).getByText("extract_orders").waitFor();
    await page
      .getByRole("list", { name: "Scheduled DAGs" })
      .getByRole("link", { name: "example_asset_consumer" })
      .waitFor();
    const events = page.getByRole("table", { name: "Asset events" });
    await events
      .getByRole("link", { name: new RegExp(consumerRun.dag_run_id.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")) })
      .waitFor();
    await events.getByText('"rows":42').waitFor();
  },
);
