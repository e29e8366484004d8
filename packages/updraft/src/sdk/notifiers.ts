/**
 * Ready-made notifiers (Airflow's SmtpNotifier, SlackWebhookNotifier and HttpNotifier): objects with
 * a `notify(context)` method, given to callback options (`onFailure: smtpNotifier({...})`) or called
 * from a task (`await smtpNotifier({...}).notify(getCurrentContext())`). Their texts are templates
 * rendered with the context they are called with (`{{ ti.task_id }}`, `{{ run_id }}`,
 * `{{ dag.dag_id }}`, `{{ exception }}`...). They run in user-code processes: connections come
 * through the runner's lookups (getConnection), never from the database.
 */
import type { CallbackContext, Notifier } from "./callback-types.ts";
import { sendEmail } from "./email.ts";
import { getConnection, type Connection } from "./lookups.ts";
import { renderText, renderValue } from "./templates.ts";

/** smtpNotifier()'s options: Airflow's SmtpNotifier's, camelCased. */
export interface SmtpNotifierOptions {
  /** Recipients: a list, or one string of addresses separated by commas or semicolons (templated). */
  to: string | readonly string[];
  /** The `smtp` connection; default `[email] email_conn_id` (`smtp_default`, else the [smtp] section). */
  smtpConnId?: string;
  /** Sender (templated); default the connection's `from_email` extra, else `[smtp] smtp_mail_from`. */
  from?: string;
  /** Subject (templated); default names the DAG, the task and the run. */
  subject?: string;
  /** HTML body (templated); default lists the DAG, run, task, try and error. */
  html?: string;
  cc?: string | readonly string[];
  bcc?: string | readonly string[];
  /** Paths of files to attach (templated). */
  files?: readonly string[];
}

const DEFAULT_SUBJECT =
  "DAG {{ dag.dag_id }}{% if ti %} - Task {{ ti.task_id }}{% endif %} - Run ID {{ run_id }}" +
  "{% if exception %} failed{% endif %}";
const DEFAULT_HTML = [
  "<p>DAG: {{ dag.dag_id }}<br>Run ID: {{ run_id }}<br>",
  "{% if ti %}Task: {{ ti.task_id }}<br>Try: {{ ti.try_number }} of {{ ti.max_tries + 1 }}<br>{% endif %}",
  "{% if reason %}Reason: {{ reason }}<br>{% endif %}",
  "{% if exception %}Error: {{ exception.message }}<br>{% endif %}</p>",
].join("\n");

/**
 * Sends an email when called (Airflow's SmtpNotifier).
 *
 * @example
 * ```ts
 * dag("load", { defaultArgs: { onFailure: smtpNotifier({
 *   to: ["oncall@example.com"],
 *   subject: "{{ ti.task_id }} failed in {{ run_id }}",
 *   html: "<p>{{ exception }}</p>",
 * }) } }, () => { ... });
 * ```
 */
export function smtpNotifier(options: SmtpNotifierOptions): Notifier {
  const o = checkOptions(options, "smtpNotifier", SMTP_KEYS, ["to"]);
  return {
    notifier: "smtp",
    async notify(context: CallbackContext) {
      const values = templateContext(context);
      const render = <T>(value: T, name: string) => renderValue(value, values, `smtpNotifier's ${name}`) as T;
      await sendEmail(
        {
          to: render(o.to, "to"),
          subject: render(o.subject ?? DEFAULT_SUBJECT, "subject"),
          html: render(o.html ?? DEFAULT_HTML, "html"),
          ...(o.from !== undefined ? { from: render(o.from, "from") } : {}),
          ...(o.cc !== undefined ? { cc: render(o.cc, "cc") } : {}),
          ...(o.bcc !== undefined ? { bcc: render(o.bcc, "bcc") } : {}),
          ...(o.files !== undefined ? { files: render(o.files, "files") } : {}),
        },
        o.smtpConnId !== undefined ? { connId: o.smtpConnId } : {},
      );
    },
  };
}

const SMTP_KEYS = ["to", "smtpConnId", "from", "subject", "html", "cc", "bcc", "files"] as const;

/** slackWebhookNotifier()'s options: Airflow's SlackWebhookNotifier's, camelCased. */
export interface SlackWebhookNotifierOptions {
  /** The `slackwebhook` connection: the webhook URL in its password (or its token, host the base). Default "slack_default". */
  slackWebhookConnId?: string;
  /** The message (templated). */
  text: string;
  /** Block Kit blocks (their strings templated). */
  blocks?: unknown[];
  /** Legacy attachments (their strings templated). */
  attachments?: unknown[];
  unfurlLinks?: boolean;
  unfurlMedia?: boolean;
  /** Seconds to wait for Slack; default the connection's `timeout` extra, else 30. */
  timeout?: number;
}

const SLACK_KEYS = [
  "slackWebhookConnId",
  "text",
  "blocks",
  "attachments",
  "unfurlLinks",
  "unfurlMedia",
  "timeout",
] as const;

/**
 * Posts a message to a Slack incoming webhook when called (Airflow's SlackWebhookNotifier).
 *
 * @example
 * ```ts
 * onFailure: slackWebhookNotifier({ slackWebhookConnId: "slack_alerts", text: ":red_circle: {{ ti.task_id }} failed" })
 * ```
 */
export function slackWebhookNotifier(options: SlackWebhookNotifierOptions): Notifier {
  const o = checkOptions(options, "slackWebhookNotifier", SLACK_KEYS, ["text"]);
  const connId = o.slackWebhookConnId ?? "slack_default";
  return {
    notifier: "slack_webhook",
    async notify(context: CallbackContext) {
      const values = templateContext(context);
      const connection = await getConnection(connId);
      const body: Record<string, unknown> = {
        text: renderText(o.text, values, "slackWebhookNotifier's text"),
      };
      if (o.blocks) body.blocks = renderValue(o.blocks, values, "slackWebhookNotifier's blocks");
      if (o.attachments)
        body.attachments = renderValue(o.attachments, values, "slackWebhookNotifier's attachments");
      if (o.unfurlLinks !== undefined) body.unfurl_links = o.unfurlLinks;
      if (o.unfurlMedia !== undefined) body.unfurl_media = o.unfurlMedia;
      const timeout = o.timeout ?? numberExtra(connection, "timeout") ?? 30;
      await postJson(slackWebhookUrl(connection), body, {}, timeout, `Slack webhook connection "${connId}"`);
    },
  };
}

/**
 * The webhook URL of a `slackwebhook` connection, as Airflow's SlackWebhookHook reads it: the
 * password is the whole URL, or the token after the host (default https://hooks.slack.com/services).
 */
export function slackWebhookUrl(c: Connection): string {
  const token = c.password ?? "";
  if (!token)
    throw new Error(
      `connection "${c.connId}" has no webhook: put the webhook URL (or its token) in its password`,
    );
  if (/^https?:\/\//.test(token)) return token;
  let base = c.host || "https://hooks.slack.com/services";
  if (!/^https?:\/\//.test(base)) base = `${c.schema || "https"}://${base}`;
  return `${base.replace(/\/+$/, "")}/${token.replace(/^\/+/, "")}`;
}

/** webhookNotifier()'s options (Airflow's HttpNotifier's, camelCased). */
export interface WebhookNotifierOptions {
  /** The `http` connection whose URL (schema, host, port) the request goes to. Default "http_default". */
  connId?: string;
  /** The same as `connId` (Airflow's HttpNotifier calls it http_conn_id). */
  httpConnId?: string;
  /** Path after the connection's URL (templated). */
  endpoint?: string;
  /** Default "POST". */
  method?: string;
  /** The JSON body (its strings templated); default a summary of the event (dag_id, run_id, task_id, ...). */
  body?: unknown;
  /** The same as `body` (Airflow's `json`; `data` is accepted too). */
  json?: unknown;
  data?: unknown;
  /** Request headers (values templated), over the connection's extra headers. */
  headers?: Record<string, string>;
  /** Seconds to wait for an answer; default 30. */
  timeout?: number;
}

const WEBHOOK_KEYS = [
  "connId",
  "httpConnId",
  "endpoint",
  "method",
  "body",
  "json",
  "data",
  "headers",
  "timeout",
] as const;

/**
 * Sends the event as JSON to a URL from a connection when called (Airflow's HttpNotifier).
 *
 * @example
 * ```ts
 * onFailure: webhookNotifier({ connId: "alerts_api", endpoint: "/events", body: { text: "{{ ti.task_id }} failed" } })
 * ```
 */
export function webhookNotifier(options: WebhookNotifierOptions = {}): Notifier {
  const o = checkOptions(options, "webhookNotifier", WEBHOOK_KEYS, []);
  const connId = o.connId ?? o.httpConnId ?? "http_default";
  return {
    notifier: "webhook",
    async notify(context: CallbackContext) {
      const values = templateContext(context);
      const connection = await getConnection(connId);
      const given = o.body ?? o.json ?? o.data;
      const body =
        given === undefined ? eventSummary(context) : renderValue(given, values, "webhookNotifier's body");
      const endpoint = o.endpoint ? renderText(o.endpoint, values, "webhookNotifier's endpoint") : "";
      const headers = {
        ...extraHeaders(connection),
        ...(renderValue(o.headers ?? {}, values, "webhookNotifier's headers") as Record<string, string>),
      };
      if (connection.login && !Object.keys(headers).some((h) => h.toLowerCase() === "authorization"))
        headers.Authorization = `Basic ${btoa(`${connection.login}:${connection.password ?? ""}`)}`;
      const url = joinUrl(httpBaseUrl(connection), endpoint);
      await postJson(url, body, headers, o.timeout ?? 30, `connection "${connId}"`, o.method ?? "POST");
    },
  };
}

/** An http connection's base URL, as Airflow's HttpHook builds it (a host with "://" is taken whole). */
export function httpBaseUrl(c: Connection): string {
  const host = c.host ?? "";
  if (host.includes("://")) return host;
  if (!host) throw new Error(`connection "${c.connId}" has no host: set its URL (host, schema, port)`);
  const schema = c.schema || "http";
  return `${schema}://${host}${c.port ? `:${c.port}` : ""}`;
}

function joinUrl(base: string, endpoint: string): string {
  if (!endpoint) return base;
  return `${base.replace(/\/+$/, "")}/${endpoint.replace(/^\/+/, "")}`;
}

/** HttpHook takes the connection's extra as headers; only string values are kept. */
function extraHeaders(c: Connection): Record<string, string> {
  return Object.fromEntries(
    Object.entries(c.extra).filter((e): e is [string, string] => typeof e[1] === "string"),
  );
}

function eventSummary(context: CallbackContext): Record<string, unknown> {
  return {
    dag_id: context.dag?.dag_id ?? null,
    run_id: context.run_id,
    task_id: context.ti?.task_id ?? null,
    map_index: context.ti?.map_index ?? null,
    try_number: context.ti?.try_number ?? null,
    reason: context.reason ?? null,
    exception: context.exception?.message ?? null,
  };
}

async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string>,
  timeoutSeconds: number,
  what: string,
  method = "POST",
): Promise<void> {
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutSeconds * 1000),
    });
  } catch (error) {
    const reason = (error as Error).cause ?? error;
    throw new Error(`${what}: ${method} ${redact(url)} failed: ${(reason as Error).message ?? reason}`, {
      cause: error,
    });
  }
  if (!response.ok) {
    const text = (await response.text().catch(() => "")).slice(0, 500);
    throw new Error(`${what}: ${method} ${redact(url)} answered ${response.status}: ${text}`);
  }
}

/** A webhook URL is its secret: errors show only where it goes. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname.length > 1 ? "/..." : "/"}`;
  } catch {
    return "(the connection's URL)";
  }
}

function numberExtra(c: Connection, key: string): number | undefined {
  const n = Number(c.extra[key]);
  return c.extra[key] !== undefined && Number.isFinite(n) && n > 0 ? n : undefined;
}

/** The context templates see: `{{ exception }}` prints the error's message, as Airflow's prints the exception. */
function templateContext(context: CallbackContext): Record<string, unknown> {
  const e = context.exception;
  return {
    ...context,
    exception: e ? { ...e, toString: () => e.message } : null,
    reason: context.reason ?? null,
  };
}

/** Options checked when the notifier is made (in the DAG file), so a typo is a definition error. */
function checkOptions<T extends object>(
  options: T,
  name: string,
  keys: readonly string[],
  required: readonly string[],
): T {
  if (typeof options !== "object" || options === null)
    throw new TypeError(`${name}() takes an options object, got ${String(options)}`);
  const unknown = Object.keys(options).filter((k) => !keys.includes(k));
  if (unknown.length > 0)
    throw new TypeError(`${name}(): unknown option ${unknown.join(", ")}; it takes ${keys.join(", ")}`);
  for (const key of required)
    if ((options as Record<string, unknown>)[key] === undefined)
      throw new TypeError(`${name}() needs ${key}`);
  return options;
}
