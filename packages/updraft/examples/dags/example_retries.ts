/**
 * Retries with exponential backoff and timeouts. A failed try is retried up to `retries` times,
 * waiting `retryDelay`, doubled on each retry (with jitter) up to `maxRetryDelay`; a try that runs
 * longer than `executionTimeout` fails. These tasks succeed, so the retries are never needed.
 */
import { bash, dag, task } from "updraft";

export default dag(
  {
    dagId: "example_retries",
    description: "Retry settings for flaky work, from defaultArgs and per task.",
    schedule: "@daily",
    startDate: "2025-01-01",
    catchup: false,
    dagrunTimeout: "1h",
    tags: ["example"],
    defaultArgs: { retries: 3, retryDelay: "10s", retryExponentialBackoff: true, maxRetryDelay: "5m" },
  },
  () => {
    const call = bash("call_flaky_api", {
      command: "echo calling the API; sleep 1; echo got 200",
      executionTimeout: "2m",
    });
    const check = task(
      "check_response",
      () => {
        const status = 200;
        if (status !== 200) throw new Error(`unexpected status ${status}`); // a throw fails this try
        return { status };
      },
      { retries: 5, retryDelay: "1m" }, // a task's own options win over defaultArgs
    );
    call.before(check());
  },
);
