import { after, afterEach, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../test-support/distributed.ts";
import { startSmtpServer, type TestSmtpServer } from "../test-support/smtp.ts";
import type { CallbackContext } from "./callback-types.ts";
import { sendEmail, sendTaskAlertEmail } from "./email.ts";
import { setLookup, type EmailSettings } from "./lookups.ts";
import { smtpNotifier } from "./notifiers.ts";

/** What the runner would answer a task's lookups with: these connections and settings. */
function runnerWith(
  connections: Record<string, Record<string, unknown>>,
  settings: Partial<EmailSettings> = {},
) {
  const full: EmailSettings = {
    email_conn_id: "smtp_default",
    from_email: null,
    subject_template: null,
    html_content_template: null,
    base_url: null,
    ...settings,
    smtp: {
      host: "127.0.0.1",
      port: 25,
      starttls: false,
      ssl: false,
      mail_from: "updraft@example.com",
      timeout: 5,
      retry_limit: 1,
      ...settings.smtp,
    },
  };
  setLookup(async (what, key) => {
    if (what === "email_settings") return full;
    if (what !== "connection") throw new Error(`unexpected lookup ${what}`);
    const c = connections[key];
    return c ? { conn_id: key, conn_type: "smtp", schema: null, login: null, password: null, ...c } : null;
  });
}

/** An smtp connection to a plain test server (SSL and STARTTLS off, as Airflow's extras say). */
function plainConnection(port: number, extra: Record<string, unknown> = {}) {
  return {
    host: "127.0.0.1",
    port,
    extra: JSON.stringify({ disable_ssl: true, disable_tls: true, ...extra }),
  };
}

const context: CallbackContext = {
  run_id: "manual__2026-01-01T00:00:00+00:00",
  dag: { dag_id: "etl", tags: [], owner: "airflow" },
  dag_run: { run_id: "manual__2026-01-01T00:00:00+00:00", run_type: "manual", conf: {}, logical_date: "" },
  params: { team: "data" },
  ti: {
    try_number: 2,
    max_tries: 2,
    map_index: -1,
    task_id: "load",
    dag_id: "etl",
    run_id: "manual__2026-01-01T00:00:00+00:00",
    queue: "default",
    hostname: "worker-1",
  },
  exception: { message: "disk <full>", stack: "Error: disk <full>\n    at load (etl.ts:3:9)" },
};

describe("sendEmail", () => {
  let plain: TestSmtpServer;
  let dir: string;
  before(async () => {
    plain = await startSmtpServer();
    dir = mkdtempSync(join(tmpdir(), "updraft-email-"));
  });
  after(async () => {
    await plain.close();
    rmSync(dir, { recursive: true, force: true });
  });
  afterEach(() => {
    plain.received.length = 0;
    setLookup(undefined);
  });

  test("sends through the smtp connection: recipients, subject, HTML, attachment, from_email", async () => {
    runnerWith({ smtp_default: plainConnection(plain.port, { from_email: "alerts@example.com" }) });
    const file = join(dir, "report.csv");
    writeFileSync(file, "a,b\n1,2\n");
    await sendEmail({
      to: "ann@example.com; bob@example.com",
      cc: ["carol@example.com"],
      bcc: "dave@example.com",
      subject: "Report ready",
      html: "<p>See <b>attached</b></p>",
      files: [file],
    });
    const [mail] = await plain.waitFor(1);
    assert.deepEqual(mail!.envelope.to.sort(), [
      "ann@example.com",
      "bob@example.com",
      "carol@example.com",
      "dave@example.com",
    ]);
    assert.equal(mail!.envelope.from, "alerts@example.com");
    assert.equal(mail!.parsed.subject, "Report ready");
    assert.equal(String(mail!.parsed.html).trim(), "<p>See <b>attached</b></p>");
    assert.equal(mail!.parsed.attachments.length, 1);
    assert.equal(mail!.parsed.attachments[0]!.filename, "report.csv");
    assert.equal(mail!.parsed.attachments[0]!.content.toString(), "a,b\n1,2\n");
    // bcc is in the envelope only, never in a header.
    assert.equal(mail!.parsed.bcc, undefined);
  });

  test("a connection named by the caller is used instead of the default one", async () => {
    runnerWith({ other: plainConnection(plain.port) });
    await sendEmail(
      { to: ["x@example.com"], subject: "s", html: "h", from: "me@example.com" },
      { connId: "other" },
    );
    const [mail] = await plain.waitFor(1);
    assert.equal(mail!.envelope.from, "me@example.com");
  });

  test("without the default connection, the [smtp] section is used", async () => {
    runnerWith(
      {},
      {
        smtp: {
          port: plain.port,
          starttls: false,
          mail_from: "section@example.com",
        } as EmailSettings["smtp"],
      },
    );
    await sendEmail({ to: ["x@example.com"], subject: "from the section", html: "<p>hi</p>" });
    const [mail] = await plain.waitFor(1);
    assert.equal(mail!.parsed.subject, "from the section");
    assert.equal(mail!.envelope.from, "section@example.com");
  });

  test("[email] from_email is the sender before [smtp] smtp_mail_from", async () => {
    runnerWith({}, { from_email: "ops@example.com", smtp: { port: plain.port } as EmailSettings["smtp"] });
    await sendEmail({ to: ["x@example.com"], subject: "s", html: "h" });
    const [mail] = await plain.waitFor(1);
    assert.equal(mail!.envelope.from, "ops@example.com");
  });

  test("a connection named by the caller that does not exist is a clear error", async () => {
    runnerWith({});
    await assert.rejects(
      sendEmail({ to: ["x@example.com"], subject: "s", html: "h" }, { connId: "nope" }),
      /connection "nope" does not exist/,
    );
  });

  test("a server that is not there: the error names the connection, the address and what failed", async () => {
    const port = await freePort();
    runnerWith({ smtp_default: plainConnection(port, { retry_limit: 2 }) });
    await assert.rejects(sendEmail({ to: ["x@example.com"], subject: "s", html: "h" }), (error: Error) => {
      assert.match(error.message, /connection "smtp_default" at 127\.0\.0\.1:\d+ failed after 2 attempts/);
      assert.match(error.message, /ECONNREFUSED/);
      return true;
    });
  });

  test("STARTTLS is required unless disable_tls: a server without it is refused", async () => {
    runnerWith({ smtp_default: { host: "127.0.0.1", port: plain.port, extra: '{"disable_ssl": true}' } });
    await assert.rejects(
      sendEmail({ to: ["x@example.com"], subject: "s", html: "h" }),
      /connection "smtp_default".*STARTTLS/i,
    );
    assert.equal(plain.received.length, 0);
  });

  test("a recipient the server refuses: the error says what the server said", async () => {
    runnerWith({ smtp_default: plainConnection(plain.port) });
    await assert.rejects(
      sendEmail({ to: ["not an address"], subject: "s", html: "h" }),
      /connection "smtp_default"/,
    );
  });

  test("sendTaskAlertEmail: Airflow's default subject and body, with the log link of [api] base_url", async () => {
    runnerWith({ smtp_default: plainConnection(plain.port) }, { base_url: "https://updraft.example.com" });
    await sendTaskAlertEmail("retry", ["oncall@example.com"], context);
    const [mail] = await plain.waitFor(1);
    assert.equal(
      mail!.parsed.subject,
      "Updraft alert: <TaskInstance: etl.load manual__2026-01-01T00:00:00+00:00 [up_for_retry]>",
    );
    const html = String(mail!.parsed.html);
    assert.match(html, /Try 2 out of 3/);
    assert.match(html, /Error: disk &#60;full&#62;<br> {4}at load/);
    assert.match(
      html,
      /href="https:\/\/updraft\.example\.com\/dags\/etl\/runs\/manual__2026-01-01T00%3A00%3A00%2B00%3A00\/tasks\/load\?try_number=2"/,
    );
    assert.match(html, /Host: worker-1/);
  });

  test("sendTaskAlertEmail uses [email] subject_template and html_content_template", async () => {
    runnerWith(
      { smtp_default: plainConnection(plain.port) },
      {
        subject_template: "{{ ti.task_id }} of {{ dag.dag_id }}: {{ state }}",
        html_content_template: "<p>{{ exception }} (try {{ try_number }})</p>",
      },
    );
    await sendTaskAlertEmail("failure", ["oncall@example.com"], context);
    const [mail] = await plain.waitFor(1);
    assert.equal(mail!.parsed.subject, "load of etl: failed");
    assert.equal(String(mail!.parsed.html).trim(), "<p>disk <full> (try 2)</p>");
  });

  test("smtpNotifier renders its subject and body with the context", async () => {
    runnerWith({ alerts: plainConnection(plain.port) });
    const notifier = smtpNotifier({
      smtpConnId: "alerts",
      to: ["{{ params.team }}@example.com"],
      from: "updraft@example.com",
      subject: "{{ ti.task_id }} failed in {{ run_id }}",
      html: "<p>{{ exception }} (DAG {{ dag.dag_id }}, try {{ ti.try_number }})</p>",
    });
    assert.equal(notifier.notifier, "smtp");
    await notifier.notify(context);
    const [mail] = await plain.waitFor(1);
    assert.deepEqual(mail!.envelope.to, ["data@example.com"]);
    assert.equal(mail!.parsed.subject, "load failed in manual__2026-01-01T00:00:00+00:00");
    assert.equal(String(mail!.parsed.html).trim(), "<p>disk <full> (DAG etl, try 2)</p>");
  });

  test("smtpNotifier: a name the context lacks fails the notify, naming the template", async () => {
    runnerWith({ smtp_default: plainConnection(plain.port) });
    const notifier = smtpNotifier({ to: "x@example.com", subject: "{{ nothing_here }}" });
    await assert.rejects(
      Promise.resolve(notifier.notify(context)),
      /smtpNotifier's subject could not be rendered/,
    );
    assert.throws(() => smtpNotifier({ to: "x", html_content: "h" } as never), /unknown option html_content/);
  });
});

describe("sendEmail over TLS (self-signed certificate)", () => {
  test("SSL is on unless disable_ssl: an SMTPS server gets the message encrypted", async () => {
    const server = await startSmtpServer({ secure: true });
    try {
      runnerWith({
        smtp_default: { host: "127.0.0.1", port: server.port, extra: '{"ssl_context": "none"}' },
      });
      await sendEmail({ to: ["x@example.com"], subject: "over SMTPS", html: "h" });
      const [mail] = await server.waitFor(1);
      assert.equal(mail!.secure, true);
      assert.equal(mail!.parsed.subject, "over SMTPS");
    } finally {
      setLookup(undefined);
      await server.close();
    }
  });

  test("the server's certificate is checked unless ssl_context is none", async () => {
    const server = await startSmtpServer({ secure: true });
    try {
      runnerWith({ smtp_default: { host: "127.0.0.1", port: server.port, extra: "{}" } });
      await assert.rejects(
        sendEmail({ to: ["x@example.com"], subject: "s", html: "h" }),
        /connection "smtp_default".*(self-signed|certificate)/i,
      );
      assert.equal(server.received.length, 0);
    } finally {
      setLookup(undefined);
      await server.close();
    }
  });

  test("STARTTLS upgrades a plain connection, with the connection's login", async () => {
    const server = await startSmtpServer({ starttls: true, auth: { user: "mailer", pass: "s3cret" } });
    try {
      runnerWith({
        smtp_default: {
          host: "127.0.0.1",
          port: server.port,
          login: "mailer",
          password: "s3cret",
          extra: '{"disable_ssl": true, "ssl_context": "none"}',
        },
      });
      await sendEmail({ to: ["x@example.com"], subject: "upgraded", html: "h" });
      const [mail] = await server.waitFor(1);
      assert.equal(mail!.secure, true);
      // As Airflow's smtplib starttls(): the certificate is not checked, unless ssl_context is "default".
      const login = { host: "127.0.0.1", port: server.port, login: "mailer", password: "s3cret" };
      runnerWith({ smtp_default: { ...login, extra: '{"disable_ssl": true}' } });
      await sendEmail({ to: ["x@example.com"], subject: "unchecked", html: "h" });
      assert.equal((await server.waitFor(2))[1]!.parsed.subject, "unchecked");
      runnerWith({ smtp_default: { ...login, extra: '{"disable_ssl": true, "ssl_context": "default"}' } });
      await assert.rejects(
        sendEmail({ to: ["x@example.com"], subject: "s", html: "h" }),
        /connection "smtp_default".*self-signed/i,
      );
      runnerWith({
        smtp_default: {
          host: "127.0.0.1",
          port: server.port,
          login: "mailer",
          password: "wrong",
          extra: '{"disable_ssl": true, "ssl_context": "none"}',
        },
      });
      await assert.rejects(
        sendEmail({ to: ["x@example.com"], subject: "s", html: "h" }),
        /connection "smtp_default".*535/,
      );
    } finally {
      setLookup(undefined);
      await server.close();
    }
  });
});
