/**
 * Data-aware scheduling, the producing side (Airflow's outlets): `extract_orders` updates the asset
 * "s3://example-lake/orders.parquet". When a try of it succeeds, Updraft records an asset event
 * (with the extra the task gave it through outletEvents) and queues it for every DAG scheduled on
 * that asset: example_asset_consumer then runs. A failed try records nothing.
 */
import { asset, bash, dag, outletEvents, task } from "updraft";

const orders = asset("s3://example-lake/orders.parquet", { name: "orders", group: "sales" });

export default dag(
  {
    dagId: "example_asset_producer",
    description: "Updates the orders asset; example_asset_consumer runs after each update.",
    schedule: null,
    tags: ["example", "assets"],
  },
  () => {
    const extract = task(
      "extract_orders",
      () => {
        const rows = 42;
        // Carried by the asset event; the consumer reads it from triggering_asset_events.
        outletEvents(orders).extra = { rows, source: "orders-api" };
        return { rows };
      },
      { outlets: [orders] },
    );
    extract().before(bash("announce", { command: 'echo "orders updated in run {{ run_id }}"' }));
  },
);
