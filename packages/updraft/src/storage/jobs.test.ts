import assert from "node:assert/strict";
import { test } from "node:test";
import { forEachDatabase } from "../test-support/databases.ts";
import { jobStore } from "./jobs.ts";

forEachDatabase("job store", (get) => {
  test("start, heartbeat with an error, stale detection, end", async () => {
    const jobs = jobStore(get());
    const a = await jobs.start("scheduler", "2025-01-01T00:00:00.000Z");
    const b = await jobs.start("scheduler", "2025-01-01T00:00:00.000Z");
    await jobs.heartbeat(a, "database hiccup", "2025-01-01T00:01:00.000Z");
    assert.deepEqual(await jobs.stale("scheduler", "2025-01-01T00:00:30.000Z"), [b]);
    const row = (await jobs.list()).find((j) => j.id === a)!;
    assert.equal(row.last_error, "database hiccup");
    assert.equal(row.pid, process.pid);
    await jobs.markFailed([b]);
    await jobs.end(a);
    assert.deepEqual(await jobs.stale("scheduler", "2030-01-01T00:00:00.000Z"), []);
    assert.deepEqual(
      (await jobs.list({ state: "failed" })).map((j) => j.id),
      [b],
    );
  });
});
