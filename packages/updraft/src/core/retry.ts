/**
 * When the next try of a failed task may start. Airflow's rule: a fixed retryDelay, or with
 * retryExponentialBackoff the delay doubles each try, jittered so many tasks failing together do not
 * retry in lockstep, and capped by maxRetryDelay (and never more than a day).
 */
import type { SerializedTask } from "./serialized.ts";

export const MAX_RETRY_DELAY_SECONDS = 24 * 60 * 60;

/**
 * Seconds to wait after the `failedTry`-th try (1-based) failed. `random` in [0, 1) picks the jitter:
 * the exponential delay lands in [half, all] of retryDelay * 2^(failedTry - 1).
 */
export function retryDelaySeconds(
  task: Pick<SerializedTask, "retryDelay" | "retryExponentialBackoff" | "maxRetryDelay">,
  failedTry: number,
  random: () => number = Math.random,
): number {
  const cap = Math.min(task.maxRetryDelay ?? MAX_RETRY_DELAY_SECONDS, MAX_RETRY_DELAY_SECONDS);
  if (!task.retryExponentialBackoff) return Math.min(task.retryDelay, cap);
  const full = task.retryDelay * 2 ** Math.max(0, failedTry - 1);
  return Math.min(full / 2 + (full / 2) * random(), cap);
}

/** Whether a try that failed may be retried: tries are 1-based, retries count the extra tries. */
export function canRetry(failedTry: number, retries: number): boolean {
  return failedTry <= retries;
}
