import assert from "node:assert/strict";
import { test } from "node:test";
import { forEachDatabase } from "../test-support/databases.ts";
import { leaseStore } from "./leases.ts";

forEachDatabase("lease store", (get) => {
  test("one holder at a time; renewals; takeover after expiry; release", async () => {
    const leases = leaseStore(get());
    assert.equal(
      await leases.acquire("scheduler", "a", "2025-01-01T00:00:00.000Z", "2025-01-01T00:00:10.000Z"),
      true,
    );
    assert.equal(
      await leases.acquire("scheduler", "b", "2025-01-01T00:00:05.000Z", "2025-01-01T00:00:15.000Z"),
      false,
    );
    assert.equal(
      await leases.acquire("scheduler", "a", "2025-01-01T00:00:05.000Z", "2025-01-01T00:00:15.000Z"),
      true,
    );
    assert.equal(await leases.holderOf("scheduler", "2025-01-01T00:00:14.000Z"), "a");
    assert.equal(
      await leases.acquire("scheduler", "b", "2025-01-01T00:00:16.000Z", "2025-01-01T00:00:26.000Z"),
      true,
    );
    assert.equal(await leases.holderOf("scheduler", "2025-01-01T00:00:17.000Z"), "b");
    await leases.release("scheduler", "a");
    assert.equal(
      await leases.holderOf("scheduler", "2025-01-01T00:00:17.000Z"),
      "b",
      "only the holder releases",
    );
    await leases.release("scheduler", "b");
    assert.equal(await leases.holderOf("scheduler", "2025-01-01T00:00:17.000Z"), undefined);
  });

  test("racing acquirers: exactly one wins", async () => {
    const leases = leaseStore(get());
    const wins = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        leases.acquire("race", `h${i}`, "2025-01-01T00:00:00.000Z", "2025-01-01T00:01:00.000Z"),
      ),
    );
    assert.equal(wins.filter(Boolean).length, 1);
  });
});
