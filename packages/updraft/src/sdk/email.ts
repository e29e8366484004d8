/**
 * Sending email from user code (the `email` operator, `smtpNotifier`, `emailOnFailure`): over the
 * `smtp` connection `[email] email_conn_id` (default `smtp_default`), else the `[smtp]` section.
 * Runs in the task's (or callback's) own process: the connection and the settings come through the
 * runner's lookups, and nodemailer is loaded only when an email is sent (DAG parsing never pays it).
 *
 * The connection is read as Airflow's SmtpHook reads it: host, port, login, password; extras
 * `disable_ssl` (SMTPS is on unless it is set), `disable_tls` (STARTTLS is required unless it is
 * set), `from_email`, `timeout` (seconds, 30), `retry_limit` (5) and `ssl_context` (SMTPS checks
 * the server's certificate unless it is "none"; STARTTLS checks it only when it is "default", as
 * Airflow's smtplib calls do).
 */
import type { CallbackContext } from "./callback-types.ts";
import { emailSettings, findConnection, type Connection, type EmailSettings } from "./lookups.ts";
import { renderText } from "./templates.ts";

export interface EmailMessage {
  to: string | readonly string[];
  subject: string;
  html: string;
  cc?: string | readonly string[];
  bcc?: string | readonly string[];
  /** Sender; default: the connection's `from_email` extra, else `[smtp] smtp_mail_from`. */
  from?: string;
  /** Paths of files to attach. */
  files?: readonly string[];
}

export interface SendEmailOptions {
  /** The `smtp` connection to send through; default `[email] email_conn_id` ("smtp_default"). */
  connId?: string;
}

/** Where and how a message goes: from a connection or from the [smtp] section. */
interface SmtpTarget {
  /** Named in errors: `connection "smtp_default"` or `the [smtp] section`. */
  source: string;
  host: string;
  port: number;
  /** SMTPS: TLS from the first byte. */
  secure: boolean;
  /** Upgrade a plain connection with STARTTLS, and fail when the server does not offer it. */
  starttls: boolean;
  user: string | null;
  password: string | null;
  from: string;
  timeoutSeconds: number;
  retryLimit: number;
  verifyCertificate: boolean;
}

/** Sends one message; rejects with a clear error (which connection, what the server said). */
export async function sendEmail(message: EmailMessage, options: SendEmailOptions = {}): Promise<void> {
  const settings = await emailSettings();
  const target = await smtpTarget(settings, options.connId);
  const to = addressList(message.to);
  if (to.length === 0) throw new Error("sendEmail: the message has no recipient (to is empty)");
  const mail = {
    from: message.from || target.from,
    to,
    cc: addressList(message.cc),
    bcc: addressList(message.bcc),
    subject: message.subject,
    html: message.html,
    attachments: (message.files ?? []).map((path) => ({ path, filename: baseName(path) })),
  };
  await deliver(target, mail);
}

/**
 * Airflow's get_email_address_list: a list, or one string of addresses split on commas and
 * semicolons (a list's items too: a rendered template may hold several).
 */
export function addressList(value: string | readonly string[] | undefined | null): string[] {
  if (value === undefined || value === null) return [];
  const items = typeof value === "string" ? [value] : [...value];
  return items
    .flatMap((item) => String(item).split(/[,;]/))
    .map((a) => a.trim())
    .filter((a) => a !== "");
}

async function smtpTarget(settings: EmailSettings, connId: string | undefined): Promise<SmtpTarget> {
  const id = connId ?? settings.email_conn_id;
  const connection = await findConnection(id);
  if (connection) return connectionTarget(connection, settings);
  // Only the default connection may be absent: a connection named by the caller must exist.
  if (connId !== undefined)
    throw new Error(
      `sendEmail: connection "${connId}" does not exist: create it (updraft connections add ${connId} --conn-type smtp --conn-host ...)`,
    );
  return sectionTarget(settings);
}

function connectionTarget(c: Connection, settings: EmailSettings): SmtpTarget {
  const secure = !truthy(c.extra.disable_ssl);
  return {
    source: `connection "${c.connId}"`,
    host: c.host || "localhost",
    // smtplib's defaults when the connection names no port: 465 for SMTPS, else 25.
    port: c.port || (secure ? 465 : 25),
    secure,
    // An SMTPS connection is encrypted already: STARTTLS is for plain ones.
    starttls: !secure && !truthy(c.extra.disable_tls),
    user: c.login || null,
    password: c.password || null,
    from: stringOr(c.extra.from_email, settings.from_email || settings.smtp.mail_from),
    timeoutSeconds: numberOr(c.extra.timeout, 30),
    retryLimit: Math.max(1, numberOr(c.extra.retry_limit, 5)),
    verifyCertificate: verifies(secure, c.extra.ssl_context),
  };
}

function sectionTarget(settings: EmailSettings): SmtpTarget {
  const s = settings.smtp;
  return {
    source: `the [smtp] section (connection "${settings.email_conn_id}" does not exist)`,
    host: s.host,
    port: s.port,
    secure: s.ssl,
    starttls: !s.ssl && s.starttls,
    user: null,
    password: null,
    from: settings.from_email || s.mail_from,
    timeoutSeconds: s.timeout,
    retryLimit: Math.max(1, s.retry_limit),
    verifyCertificate: verifies(s.ssl, undefined),
  };
}

/**
 * Whether the server's certificate is checked, as Airflow's smtplib calls do: SMTPS checks it unless
 * `ssl_context` is "none"; STARTTLS (smtplib's starttls() with no context) does not, unless
 * `ssl_context` is "default".
 */
function verifies(secure: boolean, sslContext: unknown): boolean {
  const context = typeof sslContext === "string" ? sslContext.toLowerCase() : undefined;
  return secure ? context !== "none" : context === "default";
}

/** Sends through nodemailer, connecting again (up to retryLimit times) when the server cannot be reached. */
async function deliver(target: SmtpTarget, mail: Record<string, unknown>): Promise<void> {
  const nodemailer = (await import("nodemailer")).default;
  const ms = target.timeoutSeconds * 1000;
  const transport = nodemailer.createTransport({
    host: target.host,
    port: target.port,
    secure: target.secure,
    requireTLS: target.starttls,
    ignoreTLS: !target.secure && !target.starttls,
    auth: target.user && target.password ? { user: target.user, pass: target.password } : undefined,
    connectionTimeout: ms,
    greetingTimeout: ms,
    socketTimeout: ms,
    tls: { rejectUnauthorized: target.verifyCertificate },
  });
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        await transport.sendMail(mail);
        return;
      } catch (error) {
        if (attempt >= target.retryLimit || !unreachable(error)) throw sendError(target, error, attempt);
      }
    }
  } finally {
    transport.close();
  }
}

/**
 * The server refused or dropped the connection (Airflow retries SMTPServerDisconnected): worth
 * another try. A timeout is not retried: each would wait the whole timeout again.
 */
function unreachable(error: unknown): boolean {
  const e = error as { code?: string; message?: string };
  if (e.code === "ECONNECTION") return true;
  return e.code === "ESOCKET" && /ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENETUNREACH/.test(String(e.message));
}

function sendError(target: SmtpTarget, error: unknown, attempts: number): Error {
  const e = error as { message?: string; response?: string };
  const said =
    e.response && !String(e.message).includes(e.response) ? ` (the server said: ${e.response})` : "";
  const tries = attempts > 1 ? ` after ${attempts} attempts` : "";
  return new Error(
    `sending email through ${target.source} at ${target.host}:${target.port} failed${tries}: ${e.message ?? String(error)}${said}`,
    { cause: error },
  );
}

function baseName(path: string): string {
  return path.split(/[\\/]/).pop() || path;
}

function truthy(value: unknown): boolean {
  return value === true || (typeof value === "string" && ["true", "1", "yes"].includes(value.toLowerCase()));
}

function stringOr(value: unknown, fallback: string): string {
  return typeof value === "string" && value !== "" ? value : fallback;
}

function numberOr(value: unknown, fallback: number): number {
  const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  return typeof n === "number" && Number.isFinite(n) && n > 0 ? n : fallback;
}

/** Airflow's default alert subject and body (Jinja), worded for Updraft. */
const DEFAULT_SUBJECT =
  "Updraft alert: <TaskInstance: {{ ti.dag_id }}.{{ ti.task_id }} {{ ti.run_id }}" +
  "{% if ti.map_index >= 0 %} map_index={{ ti.map_index }}{% endif %} [{{ state }}]>";
const DEFAULT_HTML = [
  "Try {{ try_number }} out of {{ max_tries + 1 }}<br>",
  "Exception:<br>{{ exception_html }}<br>",
  '{% if log_url %}Log: <a href="{{ log_url }}">Link</a><br>{% endif %}',
  "Host: {{ ti.hostname }}<br>",
].join("\n");

/** The alert `emailOnFailure` / `emailOnRetry` send (Airflow's default subject and body). */
export async function sendTaskAlertEmail(
  event: "failure" | "retry",
  to: readonly string[],
  context: CallbackContext,
): Promise<void> {
  const settings = await emailSettings();
  const values = alertValues(event, context, settings);
  const subject = renderText(settings.subject_template ?? DEFAULT_SUBJECT, values, "the alert's subject");
  const html = renderText(settings.html_content_template ?? DEFAULT_HTML, values, "the alert's body");
  await sendEmail({ to, subject: subject.trim(), html });
}

/** What the alert templates see: the context, plus Airflow's try_number, max_tries, exception_html, log_url. */
function alertValues(
  event: "failure" | "retry",
  context: CallbackContext,
  settings: EmailSettings,
): Record<string, unknown> {
  const ti = {
    dag_id: context.dag?.dag_id ?? "",
    task_id: "",
    run_id: context.run_id,
    map_index: -1,
    try_number: 1,
    max_tries: 0,
    hostname: null as string | null,
    ...context.ti,
  };
  const message = context.exception ? (context.exception.stack ?? context.exception.message) : "None";
  const logUrl =
    settings.base_url &&
    `${settings.base_url}/dags/${encodeURIComponent(ti.dag_id)}/runs/${encodeURIComponent(ti.run_id)}` +
      `/tasks/${encodeURIComponent(ti.task_id)}?try_number=${ti.try_number}`;
  return {
    ...context,
    ti: { ...ti, hostname: ti.hostname ?? "None" },
    state: event === "failure" ? "failed" : "up_for_retry",
    try_number: ti.try_number,
    max_tries: ti.max_tries,
    exception: context.exception?.message ?? null,
    exception_html: escapeHtml(message).replace(/\n/g, "<br>"),
    log_url: logUrl || null,
  };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
