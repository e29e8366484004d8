import assert from "node:assert/strict";
import { test } from "node:test";
import { forEachApiDatabase } from "../../test-support/api.ts";
import { jobStore } from "../../storage/jobs.ts";
import { TRIGGERER_JOB_TYPE } from "../../storage/triggers.ts";
import { sampleOf } from "../../metrics/metrics.ts";

forEachApiDatabase("monitor and version", {}, (get) => {
  test("health is open and reports the database and the scheduler's heartbeat", async () => {
    const before = await get().call("get_health", { as: null });
    assert.equal(before.status, 200);
    assert.equal(before.body.metadatabase.status, "healthy");
    assert.equal(before.body.scheduler.status, "unhealthy", "no scheduler has run yet");
    await jobStore(get().database).start("scheduler");
    const after = await get().call("get_health", { as: null });
    assert.equal(after.body.scheduler.status, "healthy");
    assert.match(after.body.scheduler.latest_scheduler_heartbeat, /^\d{4}-\d\d-\d\dT/);
  });

  test("health reports the triggerer's heartbeat: null before any ran, healthy while one runs, unhealthy after", async () => {
    const before = await get().call("get_health", { as: null });
    assert.deepEqual(before.body.triggerer, { status: null, latest_triggerer_heartbeat: null });
    const jobs = jobStore(get().database);
    const id = await jobs.start(TRIGGERER_JOB_TYPE);
    const running = await get().call("get_health", { as: null });
    assert.equal(running.status, 200);
    assert.equal(running.body.triggerer.status, "healthy");
    assert.match(running.body.triggerer.latest_triggerer_heartbeat, /^\d{4}-\d\d-\d\dT/);
    await jobs.end(id);
    const ended = await get().call("get_health", { as: null });
    assert.equal(ended.body.triggerer.status, "unhealthy");
  });

  test("version is open", async () => {
    const r = await get().call("get_version", { as: null });
    assert.equal(r.status, 200);
    assert.match(r.body.version, /^\d+\.\d+\.\d+/);
  });

  test("the OpenAPI document and its interactive docs are served", async () => {
    const doc = await get().app.inject({ url: "/api/v2/openapi.json" });
    assert.equal(doc.statusCode, 200);
    assert.equal(doc.json().info.title, "Updraft API");
    assert.ok(doc.json().paths["/api/v2/dags"]);
    const docs = await get().app.inject({ url: "/api/v2/docs/" });
    assert.equal(docs.statusCode, 200);
    assert.match(docs.body, /swagger/i);
  });
});

forEachApiDatabase("webserver metrics", {}, (get) => {
  test("/metrics serves Prometheus text with the installation's state and request timings", async () => {
    await get().call("get_version", { as: null });
    const r = await get().app.inject({ url: "/metrics" });
    assert.equal(r.statusCode, 200);
    assert.match(String(r.headers["content-type"]), /text\/plain/);
    const service = { service: "webserver" };
    assert.equal(
      sampleOf(r.body, "updraft_pool_slots", { ...service, pool: "default_pool", kind: "total" }),
      128,
    );
    assert.equal(
      sampleOf(r.body, "updraft_http_request_seconds_count", { route: "/api/v2/version", status: "200" }),
      1,
    );
    assert.match(r.body, /^updraft_process_resident_memory_bytes/m);
  });
});
