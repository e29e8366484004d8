/**
 * Notifiers as callbacks: one smtpNotifier told of a task's retry and of its failure. Its subject
 * and body are templates rendered with the callback's context ({{ ti.task_id }}, {{ run_id }},
 * {{ exception }}...). Here the first try fails, the notifier reports the retry, and the second try
 * succeeds; a task can also call `notify(getCurrentContext())` itself.
 *
 * It sends through the `smtp_default` connection; create one to receive the alert, e.g.
 *   updraft connections add smtp_default --conn-uri 'smtp://user:pass@mail.example.com:465'
 * Without it (or without a server) the callback fails, the task's log says why, and the task's state
 * is unchanged: a callback never decides a task's outcome. slackWebhookNotifier and webhookNotifier
 * work the same way (docs/notifications.md).
 */
import { dag, task, getCurrentContext, smtpNotifier } from "updraft";

const alertOncall = smtpNotifier({
  smtpConnId: "smtp_default",
  to: ["oncall@example.com"],
  subject: "[updraft] {{ dag.dag_id }}.{{ ti.task_id }}: try {{ ti.try_number }} failed in {{ run_id }}",
  html: "<p>{{ ti.task_id }} failed: {{ exception }}</p>",
});

export default dag(
  {
    dagId: "example_notifier",
    description: "An smtpNotifier with templated subject and body as a task's onRetry and onFailure.",
    schedule: null,
    tags: ["example"],
  },
  () => {
    const load = task(
      "load",
      async () => {
        // Stands for a call that fails now and then: the first try fails, the retry succeeds.
        if (getCurrentContext().ti.try_number === 1) throw new Error("the warehouse did not answer");
        return { rows: 42 };
      },
      { retries: 1, retryDelay: "1s", onRetry: alertOncall, onFailure: alertOncall },
    );
    load();
  },
);
