/**
 * Notifiers as callbacks: an smtpNotifier tells the team when `load` succeeded, another tells the
 * on-call person if it fails for good. Subjects and bodies are templates rendered with the
 * callback's context ({{ ti.task_id }}, {{ run_id }}, {{ exception }}...). A task can also call
 * `notify(getCurrentContext())` itself.
 *
 * They send through the `smtp_default` connection; create one to receive the mail, e.g.
 *   updraft connections add smtp_default --conn-uri 'smtp://user:pass@mail.example.com:465'
 * Without it (or without a server) the callback fails, the task's log says why, and the task's state
 * is unchanged: a callback never decides a task's outcome. slackWebhookNotifier and webhookNotifier
 * work the same way (docs/notifications.md).
 */
import { dag, task, smtpNotifier } from "updraft";

const tellTeam = smtpNotifier({
  smtpConnId: "smtp_default",
  to: ["data-team@example.com"],
  subject: "[updraft] {{ dag.dag_id }}: {{ ti.task_id }} loaded the data of {{ ds }}",
  html: "<p>Run {{ run_id }}: {{ ti.task_id }} succeeded on try {{ ti.try_number }}.</p>",
});

const alertOncall = smtpNotifier({
  smtpConnId: "smtp_default",
  to: ["oncall@example.com"],
  subject: "[updraft] {{ dag.dag_id }}.{{ ti.task_id }} failed in {{ run_id }}",
  html: "<p>{{ ti.task_id }} failed after {{ ti.try_number }} tries: {{ exception }}</p>",
});

export default dag(
  {
    dagId: "example_notifier",
    description: "smtpNotifiers with templated subjects and bodies as a task's onSuccess and onFailure.",
    schedule: null,
    tags: ["example"],
  },
  () => {
    const load = task("load", () => ({ rows: 42 }), {
      retries: 1,
      onSuccess: tellTeam,
      onFailure: alertOncall,
    });
    load();
  },
);
