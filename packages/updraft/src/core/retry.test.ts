import assert from "node:assert/strict";
import { test } from "node:test";
import { MAX_RETRY_DELAY_SECONDS, canRetry, retryDelaySeconds } from "./retry.ts";

const fixed = { retryDelay: 30, retryExponentialBackoff: false, maxRetryDelay: null };
const expo = { retryDelay: 10, retryExponentialBackoff: true, maxRetryDelay: null };

test("a fixed delay is the same every try", () => {
  assert.deepEqual(
    [1, 2, 5].map((n) => retryDelaySeconds(fixed, n)),
    [30, 30, 30],
  );
});

test("exponential backoff doubles each try, jittered within [half, all]", () => {
  assert.deepEqual(
    [1, 2, 3, 4].map((n) => retryDelaySeconds(expo, n, () => 0.9999999)).map(Math.round),
    [10, 20, 40, 80],
  );
  assert.deepEqual(
    [1, 2, 3, 4].map((n) => retryDelaySeconds(expo, n, () => 0)),
    [5, 10, 20, 40],
  );
});

test("maxRetryDelay caps the backoff; nothing waits more than a day", () => {
  assert.equal(
    retryDelaySeconds({ ...expo, maxRetryDelay: 25 }, 5, () => 0.5),
    25,
  );
  assert.equal(
    retryDelaySeconds(expo, 40, () => 0.5),
    MAX_RETRY_DELAY_SECONDS,
  );
  assert.equal(retryDelaySeconds({ ...fixed, retryDelay: 10 ** 9 }, 1), MAX_RETRY_DELAY_SECONDS);
});

test("retries count extra tries: retries 2 allows tries 2 and 3", () => {
  assert.deepEqual(
    [1, 2, 3].map((n) => canRetry(n, 2)),
    [true, true, false],
  );
  assert.equal(canRetry(1, 0), false);
});
