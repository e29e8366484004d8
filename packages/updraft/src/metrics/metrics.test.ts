import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { dagRunStore } from "../storage/dag-runs.ts";
import { forEachDatabase } from "../test-support/databases.ts";
import { serializedDag, serializedTask } from "../test-support/serialized.ts";
import { createRegistry, sampleOf, schedulerMetrics, serveMetrics, stateCounts } from "./metrics.ts";

forEachDatabase(
  "scheduler metrics",
  (get) => {
    test("served on their own port: runs and task instances by state from the database, loop and task timings", async () => {
      const at = "2025-01-01T00:00:00.000Z";
      await dagRunStore(get()).create({
        dag: serializedDag("m", [serializedTask("a"), serializedTask("b", ["a"])]),
        runId: "manual__1",
        runType: "manual",
        logicalDate: at,
        dataIntervalStart: at,
        dataIntervalEnd: at,
        runAfter: at,
      });
      const registry = createRegistry(get(), "scheduler");
      const metrics = schedulerMetrics(registry);
      metrics.loopSeconds.observe({ kind: "light" }, 0.002);
      metrics.taskDurationSeconds.observe({ state: "success", operator: "BashOperator" }, 1.5);
      const server = await serveMetrics(registry, 0, "127.0.0.1");
      try {
        const { port } = server.address() as AddressInfo;
        const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        const service = { service: "scheduler" };
        assert.equal(sampleOf(text, "updraft_dag_runs", { ...service, state: "queued" }), 1);
        assert.equal(sampleOf(text, "updraft_task_instances", { ...service, state: "none" }), 2);
        assert.equal(
          sampleOf(text, "updraft_scheduler_loop_seconds_count", { ...service, kind: "light" }),
          1,
        );
        assert.equal(
          sampleOf(text, "updraft_task_duration_seconds_sum", { state: "success", operator: "BashOperator" }),
          1.5,
        );
        assert.equal((await fetch(`http://127.0.0.1:${port}/other`)).status, 404);
      } finally {
        server.close();
      }
    });

    test("a scrape counts what moves each time, and the finished states at most once a minute", async () => {
      const runs = dagRunStore(get());
      const at = "2025-02-01T00:00:00.000Z";
      const run = await runs.create({
        dag: serializedDag("counted", [serializedTask("a")]),
        runId: "manual__2",
        runType: "manual",
        logicalDate: at,
        dataIntervalStart: at,
        dataIntervalEnd: at,
        runAfter: at,
      });
      let now = 0;
      const counts = stateCounts(get(), "dag_run", () => now);
      const first = await counts();
      const queued = first.get("queued")!;
      const success = first.get("success") ?? 0;
      await runs.setState(run.id, "running", at);
      await runs.setState(run.id, "success", at);
      now = 30_000;
      const second = await counts();
      assert.equal(second.get("queued") ?? 0, queued - 1, "unfinished states are counted at every scrape");
      assert.equal(second.get("success") ?? 0, success, "finished states are reused within a minute");
      now = 61_000;
      await counts(); // starts the recount in the background
      await new Promise((r) => setTimeout(r, 200));
      assert.equal((await counts()).get("success"), success + 1, "and counted again after it");
    });
  },
  { only: ["sqlite", "postgres"] },
);
