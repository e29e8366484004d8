/**
 * Task callbacks (Airflow's on_*_callback): functions of the context that run once an event is
 * recorded, in the DAG's worker, never in the scheduler. `flaky` fails its first try: its onRetry
 * callback reports the error, then the retry succeeds and onSuccess runs. Every task inherits
 * onFailure from defaultArgs. What a callback prints is in its try's log, with a line saying how each
 * callback ended; a callback that throws or takes longer than `[core] callback_timeout` is logged
 * there and changes nothing.
 */
import { bash, dag, task, type CallbackContext } from "updraft";

/** One line about the event, in the try's log. */
function report(context: CallbackContext): void {
  const { ti, exception } = context;
  const what = exception ? `failed: ${exception.message}` : "ok";
  console.log(`callback: task ${ti?.task_id}, try ${ti?.try_number} of run ${context.run_id}: ${what}`);
}

/** Async callbacks work too (they are awaited, within the time limit). */
async function recordDuration(context: CallbackContext): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 10));
  console.log(`callback: ${context.ti?.task_id} finished for ${context.ds}`);
}

export default dag(
  {
    dagId: "example_callbacks",
    description: "Task callbacks: onExecute, onRetry, onSuccess, and onFailure from defaultArgs.",
    schedule: null,
    tags: ["example"],
    defaultArgs: { onFailure: report },
  },
  () => {
    const flaky = bash("flaky", {
      // Fails its first try, succeeds on the retry.
      command:
        'if [ "$UPDRAFT_CTX_TRY_NUMBER" -lt 2 ]; then echo "the source is not ready"; exit 1; fi; echo "ready"',
      retries: 1,
      retryDelay: "2s",
      onRetry: report,
      onSuccess: report,
    });
    const transform = task("transform", () => ({ rows: 3 }), {
      onExecute: (context) => console.log(`callback: starting ${context.ti?.task_id}`),
      onSuccess: [report, recordDuration],
    });
    flaky.before(transform());
  },
);
