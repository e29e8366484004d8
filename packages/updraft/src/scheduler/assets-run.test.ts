/**
 * Assets run for real: the bundled example pair (example_asset_producer / example_asset_consumer)
 * parsed from their files, the producer's task run in a real TaskFlow worker; its success records
 * the event with the extra the task gave, the scheduler's step starts the consumer, whose task reads
 * the event from triggering_asset_events (and templates too). A failed try records nothing; an alias
 * outlet records events for the assets the task added to it.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { pino } from "pino";
import { triggerDagRun } from "../operations/trigger-run.ts";
import { eventsOfRun } from "../storage/assets.ts";
import { xcomStore } from "../storage/xcom.ts";
import { childUrl, forEachDatabase } from "../test-support/databases.ts";
import { dagsHome, type DagsHome } from "../test-support/dags-home.ts";
import { createAssetTriggeredRuns } from "./asset-runs.ts";

const example = (name: string) =>
  readFileSync(new URL(`../../examples/dags/${name}.ts`, import.meta.url), "utf8");

const DAGS = {
  "example_asset_producer.ts": example("example_asset_producer"),
  "example_asset_consumer.ts": example("example_asset_consumer"),
  "failing.ts": `import { asset, dag, task } from "updraft";
export default dag({ dagId: "failing" }, () => {
  task("boom", () => { throw new Error("no"); }, { outlets: [asset("s3://example-lake/orders.parquet")] })();
});`,
  "alias_producer.ts": `import { asset, assetAlias, bash, dag, outletEvents, task } from "updraft";
const daily = assetAlias("daily-files");
export default dag({ dagId: "alias_producer" }, () => {
  task("pick", () => { outletEvents(daily).add(asset("file:///data/2026-01-01.csv"), { day: 1 }); }, { outlets: [daily] })();
  bash("plain", { command: "true", outlets: [asset("file:///data/plain")] });
});`,
  "alias_consumer.ts": `import { assetAlias, bash, dag } from "updraft";
export default dag({ dagId: "alias_consumer", schedule: assetAlias("daily-files") }, () => {
  bash("show", { command: "echo day={{ triggering_asset_events['file:///data/2026-01-01.csv'][0].extra.day }}" });
});`,
};

forEachDatabase("assets, run for real", (get) => {
  let h: DagsHome;
  before(
    async () =>
      (h = await dagsHome(DAGS, {
        UPDRAFT__DATABASE__URL: childUrl(get()),
        UPDRAFT__CORE__DAGS_ARE_PAUSED_AT_CREATION: "false",
      })),
  );
  after(() => h.close());
  const step = () =>
    createAssetTriggeredRuns(h.database, { now: new Date().toISOString(), log: pino({ level: "silent" }) });
  const runsOf = (dagId: string) =>
    h.database.db.selectFrom("dag_run").selectAll().where("dag_id", "=", dagId).orderBy("id").execute();

  test("a failed try records no event", async () => {
    const run = await triggerDagRun(h.database, { dagId: "failing" });
    assert.equal(await h.drive(run), "failed");
    assert.deepEqual(await h.database.db.selectFrom("asset_event").selectAll().execute(), []);
    assert.equal(await step(), 0);
  });

  test("the producer's success starts the consumer, which reads the event and its extra", async () => {
    const run = await triggerDagRun(h.database, { dagId: "example_asset_producer" });
    assert.equal(await h.drive(run), "success", h.log(run, "extract_orders"));
    const events = await h.database.db.selectFrom("asset_event").selectAll().execute();
    assert.equal(events.length, 1);
    assert.deepEqual(JSON.parse(events[0]!.extra), { rows: 42, source: "orders-api" });
    assert.equal(events[0]!.source_task_id, "extract_orders");
    assert.equal(events[0]!.source_run_id, run.run_id);

    assert.equal(await step(), 1);
    const [consumer] = await runsOf("example_asset_consumer");
    assert.equal(consumer!.run_type, "asset_triggered");
    assert.equal((await eventsOfRun(h.database.db, consumer!.id)).length, 1);
    assert.equal(await h.drive(consumer!), "success", h.log(consumer!, "report"));
    const report = await xcomStore(h.database).pull(consumer!.id, "report", "return_value");
    assert.deepEqual(report, { updates: 1, rows: 42, from: [run.run_id] });
    assert.match(h.log(consumer!, "done"), /\(asset_triggered\) done/);
    assert.equal(await step(), 0, "one event, one run");
  });

  test("an alias outlet records the assets the task added; a bash task's outlet records its event", async () => {
    const run = await triggerDagRun(h.database, { dagId: "alias_producer" });
    assert.equal(await h.drive(run), "success", h.log(run, "pick"));
    const uris = await h.database.db
      .selectFrom("asset_event as e")
      .innerJoin("asset as a", "a.id", "e.asset_id")
      .select(["a.uri", "e.source_alias_name"])
      .where("e.source_dag_id", "=", "alias_producer")
      .orderBy("a.uri")
      .execute();
    assert.deepEqual(
      uris.map((u) => ({ ...u })),
      [
        { uri: "file:///data/2026-01-01.csv", source_alias_name: "daily-files" },
        { uri: "file:///data/plain", source_alias_name: null },
      ],
    );
    assert.equal(await step(), 1);
    const [consumer] = await runsOf("alias_consumer");
    assert.equal(await h.drive(consumer!), "success", h.log(consumer!, "show"));
    assert.match(h.log(consumer!, "show"), /day=1/);
  });
});
