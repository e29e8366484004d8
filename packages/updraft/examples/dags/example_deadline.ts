/**
 * DAG callbacks and a deadline (Airflow's on_failure_callback and 3.1's DeadlineAlert). Each run must
 * finish within 2 seconds of being queued; this one takes about 3, so the deadline is missed and its
 * callback runs (the UI's run page shows the deadline missed and the callback's outcome). onFailure
 * would run if a task failed. Callbacks run in the triggerer's user-code process, never in the
 * scheduler: start a triggerer (`updraft triggerer`; `updraft standalone` starts one). To be e-mailed
 * instead, give a notifier: `callback: smtpNotifier({ to: "oncall@example.com" })`.
 */
import { bash, dag, task, type CallbackContext, type Notifier } from "updraft";

/** A notifier of your own: any object with a `notifier` name and a `notify(context)` method. */
const consoleNotifier: Notifier = {
  notifier: "console",
  notify: (ctx) => console.log(`[deadline] run ${ctx.run_id} of ${ctx.dag.dag_id} missed its deadline`),
};

export default dag(
  {
    dagId: "example_deadline",
    description:
      "A run that must finish within 2 seconds of being queued, and what happens when it does not.",
    schedule: null,
    tags: ["example"],
    onFailure: (ctx: CallbackContext) =>
      console.log(`run ${ctx.run_id} failed (${ctx.reason}); failed task: ${ctx.ti?.task_id ?? "none"}`),
    deadline: { reference: "queued_at", interval: "2s", callback: consoleNotifier },
  },
  () => {
    const slow = bash("slow_step", { command: "echo working; sleep 3; echo done" });
    const report = task("report", () => ({ finished: true }));
    slow.before(report());
  },
);
