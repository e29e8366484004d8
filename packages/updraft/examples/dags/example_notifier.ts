/**
 * Notifiers: an smtpNotifier made once and called with a task's context when something goes wrong;
 * its subject and body are templates rendered with that context ({{ ti.task_id }}, {{ run_id }},
 * {{ exception }}...). Here the task catches its own failure, alerts, and carries on with a
 * fallback; the same notifier object can be given to a callback option instead.
 *
 * It sends through the `smtp_default` connection; create one to receive the alert, e.g.
 *   updraft connections add smtp_default --conn-uri 'smtp://user:pass@mail.example.com:465'
 * Without it (or without a server) the alert fails, the task logs why, and the run still succeeds.
 * slackWebhookNotifier and webhookNotifier work the same way (docs/notifications.md).
 */
import { dag, task, getCurrentContext, smtpNotifier } from "updraft";

const alertOncall = smtpNotifier({
  smtpConnId: "smtp_default",
  to: ["oncall@example.com"],
  subject: "[updraft] {{ dag.dag_id }}.{{ ti.task_id }} fell back in {{ run_id }}",
  html: "<p>Try {{ ti.try_number }} of {{ ti.task_id }}: {{ exception }}</p><p>Rows loaded: 0 (fallback).</p>",
});

export default dag(
  {
    dagId: "example_notifier",
    description: "An smtpNotifier with templated subject and body, called from a task that falls back.",
    schedule: null,
    tags: ["example"],
  },
  () => {
    const load = task("load", async () => {
      try {
        throw new Error("the warehouse did not answer"); // stands for a real call that failed
      } catch (error) {
        const exception = { message: (error as Error).message, stack: (error as Error).stack ?? null };
        try {
          await alertOncall.notify({ ...getCurrentContext(), exception });
          console.log("the on-call team was told");
        } catch (notifyError) {
          console.log(`the alert was not sent: ${(notifyError as Error).message}`);
        }
        return { rows: 0, fallback: true };
      }
    });
    load();
  },
);
