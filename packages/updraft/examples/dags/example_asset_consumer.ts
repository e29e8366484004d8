/**
 * Data-aware scheduling, the consuming side (Airflow's `schedule=[asset]`): a run starts each time
 * the orders asset is updated (by example_asset_producer or POST /api/v2/assets/events). The run's
 * context holds the events that started it, by asset URI: `triggering_asset_events`. With several
 * assets, `schedule: [a, b]` waits for both; `anyOf(a, b)` runs after either.
 */
import { asset, bash, dag, getCurrentContext, task } from "updraft";

const orders = asset("s3://example-lake/orders.parquet", { name: "orders", group: "sales" });

export default dag(
  {
    dagId: "example_asset_consumer",
    description: "Reports on the orders each time the orders asset is updated.",
    schedule: [orders],
    tags: ["example", "assets"],
  },
  () => {
    const report = task("report", () => {
      const events = getCurrentContext().triggering_asset_events[orders.uri] ?? [];
      const rows = events.reduce((sum, e) => sum + Number(e.extra.rows ?? 0), 0);
      console.log(`${events.length} update(s) of ${orders.uri}: ${rows} rows`);
      return { updates: events.length, rows, from: events.map((e) => e.source_run_id) };
    });
    report().before(
      bash("done", { command: 'echo "report of run {{ run_id }} ({{ dag_run.run_type }}) done"' }),
    );
  },
);
