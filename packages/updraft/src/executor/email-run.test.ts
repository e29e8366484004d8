/**
 * Email from real runs: DAG files parsed, tasks in TaskFlow worker processes that get their smtp
 * connection and the [email]/[smtp] settings only through the runner's lookups, a real SMTP server
 * on loopback that the test reads the messages back from. The email operator sends a templated
 * message with an attachment; a failing task's onFailure notifier and its emailOnFailure alert are sent; with no smtp_default
 * connection, the [smtp] section of the service's configuration is used.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { triggerDagRun } from "../operations/trigger-run.ts";
import { connectionStore } from "../storage/connections.ts";
import { dagsHome, type DagsHome } from "../test-support/dags-home.ts";
import { startSmtpServer, type TestSmtpServer } from "../test-support/smtp.ts";

const dir = mkdtempSync(join(tmpdir(), "updraft-email-run-"));
const report = join(dir, "report-2026-03-01.csv");
writeFileSync(report, "day,rows\n2026-03-01,42\n");

const DAG = `import { dag, email, task, smtpNotifier } from "updraft";
export const send = dag({ dagId: "send_report", params: { team: "data" } }, () => {
  email("mail_report", {
    to: ["{{ params.team }}@example.com"],
    cc: "lead@example.com",
    subject: "Report for {{ ds }} ({{ ti.task_id }}, try {{ ti.try_number }})",
    html: "<h1>Report {{ ds }}</h1><p>run {{ run_id }}</p>",
    files: [${JSON.stringify(join(dir, "report-{{ ds }}.csv"))}],
  });
});
export const fails = dag({ dagId: "fails" }, () => {
  task("load", async () => {
    throw new Error("the warehouse is down");
  }, {
    email: ["owner@example.com"],
    onFailure: smtpNotifier({
      to: "oncall@example.com",
      subject: "{{ dag.dag_id }}.{{ ti.task_id }} failed",
      html: "<p>{{ exception }}</p>",
    }),
  })();
});
export const bad = dag({ dagId: "bad_connection" }, () => {
  email("mail", { to: "x@example.com", subject: "s", html: "h", connId: "missing_smtp" });
});
`;

let smtp: TestSmtpServer;
let h: DagsHome;
before(async () => {
  smtp = await startSmtpServer();
  // No smtp_default yet: the service's [smtp] section (from its configuration) is the way out.
  h = await dagsHome(
    { "email.ts": DAG },
    {
      UPDRAFT__SMTP__SMTP_HOST: "127.0.0.1",
      UPDRAFT__SMTP__SMTP_PORT: String(smtp.port),
      UPDRAFT__SMTP__SMTP_STARTTLS: "false",
      UPDRAFT__SMTP__SMTP_MAIL_FROM: "section@example.com",
    },
  );
});
after(async () => {
  await h.close();
  await smtp.close();
  rmSync(dir, { recursive: true, force: true });
});

test("the email operator sends its rendered message with the attachment, through the [smtp] section", async () => {
  const run = await triggerDagRun(h.database, {
    dagId: "send_report",
    logicalDate: new Date("2026-03-01T00:00:00Z"),
  });
  assert.equal(await h.drive(run), "success", h.log(run, "mail_report"));
  const [mail] = await smtp.waitFor(1);
  assert.deepEqual(mail!.envelope.to.sort(), ["data@example.com", "lead@example.com"]);
  assert.equal(mail!.envelope.from, "section@example.com");
  assert.equal(mail!.parsed.subject, "Report for 2026-03-01 (mail_report, try 1)");
  assert.equal(String(mail!.parsed.html).trim(), `<h1>Report 2026-03-01</h1><p>run ${run.run_id}</p>`);
  assert.equal(mail!.parsed.attachments.length, 1);
  assert.equal(mail!.parsed.attachments[0]!.filename, "report-2026-03-01.csv");
  assert.equal(mail!.parsed.attachments[0]!.content.toString(), "day,rows\n2026-03-01,42\n");
  // The UI and the API show what was sent.
  const ti = await h.database.db
    .selectFrom("task_instance")
    .select("rendered_fields")
    .where("dag_run_id", "=", run.id)
    .executeTakeFirstOrThrow();
  assert.equal(JSON.parse(ti.rendered_fields!).subject, "Report for 2026-03-01 (mail_report, try 1)");
});

test("a failing task's onFailure notifier and its email alert arrive through the smtp_default connection", async () => {
  await connectionStore(h.database, h.cipher).set({
    connId: "smtp_default",
    connType: "smtp",
    description: null,
    host: "127.0.0.1",
    schema: null,
    login: null,
    password: null,
    port: smtp.port,
    extra: JSON.stringify({ disable_ssl: true, disable_tls: true, from_email: "alerts@example.com" }),
  });
  const before = smtp.received.length;
  const run = await triggerDagRun(h.database, { dagId: "fails" });
  assert.equal(await h.drive(run), "failed");
  const mails = (await smtp.waitFor(before + 2)).slice(before);
  const byTo = new Map(mails.map((m) => [m.envelope.to.join(","), m]));
  const notified = byTo.get("oncall@example.com");
  assert.ok(notified, `the notifier's mail: ${mails.map((m) => m.envelope.to.join(",")).join(" | ")}`);
  assert.equal(notified.envelope.from, "alerts@example.com");
  assert.equal(notified.parsed.subject, "fails.load failed");
  assert.match(String(notified.parsed.html), /the warehouse is down/);
  // emailOnFailure is on by default when `email` is set, as in Airflow.
  const alert = byTo.get("owner@example.com");
  assert.ok(alert, "the emailOnFailure alert");
  assert.match(String(alert.parsed.subject), /fails\.load/);
  assert.match(String(alert.parsed.html), /the warehouse is down/);
  assert.match(h.log(run, "load"), /callback onFailure: smtp notifier succeeded/);
  assert.match(h.log(run, "load"), /callback onFailure: emailOnFailure notifier succeeded/);
  assert.equal(smtp.received.length, before + 2, "each callback ran once");
});

test("an email operator naming a connection that does not exist fails with a clear reason", async () => {
  const run = await triggerDagRun(h.database, { dagId: "bad_connection" });
  assert.equal(await h.drive(run), "failed");
  assert.match(h.log(run, "mail"), /connection "missing_smtp" does not exist/);
});
