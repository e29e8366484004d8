/**
 * Connection types (Airflow's hook connection metadata): each declares its label, which standard
 * fields (host, schema, login, password, port) it uses and how the form labels them, its extra
 * fields (which of them are secret), its default port, and how it is tested. The UI's connection
 * form follows it (/ui/connections/hook_meta), the API and task logs mask the secret extras, and
 * providers (npm packages in the DAGs project, providers/discover.ts) add types of their own.
 *
 * Names are Airflow's conn_type values, so connections move between the two unchanged.
 */
import { connect as tcpConnect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { isSensitiveKey } from "../core/sensitive.ts";
import { httpBaseUrl, connectionHeaders, openSql, type ClientConnection } from "./clients.ts";

/** How the form shows one standard field; `hidden` leaves it out. */
export interface StandardField {
  hidden?: boolean;
  /** The form's label, when not the field's own name. */
  label?: string;
  placeholder?: string;
}

export type StandardFieldName = "host" | "schema" | "login" | "password" | "port" | "description";

/** A field kept in the connection's extra JSON. */
export interface ExtraField {
  name: string;
  label: string;
  type: "string" | "number" | "boolean" | "json";
  /** Masked in API answers, the UI and task logs; a password input in the form. */
  secret?: boolean;
  default?: unknown;
  description?: string;
}

export interface TestResult {
  status: boolean;
  message: string;
}

export interface ConnectionType {
  /** Airflow's conn_type: "postgres", "http", ... */
  connType: string;
  /** What the form's type list shows ("PostgreSQL"). */
  label: string;
  /** The hook that uses it ("sqlHook"), for `updraft providers hooks`. */
  hook?: string;
  /** The connection id its operators use by default. */
  defaultConnId?: string;
  /** The standard fields: how each is shown; a field left out is shown as is. */
  fields?: Partial<Record<StandardFieldName, StandardField>>;
  extraFields?: ExtraField[];
  defaultPort?: number;
  /** The package that declares it ("updraft-orchestrator" for the built-in ones). */
  provider?: string;
  /** Opens the connection and checks it answers; without it the type cannot be tested. */
  test?: (conn: ClientConnection) => Promise<TestResult>;
}

export const BUILTIN_PROVIDER = "updraft-orchestrator";
export const TEST_TIMEOUT_MS = 10_000;
const SUCCESS = "Connection successfully tested";

const hidden = { hidden: true };

async function testSql(conn: ClientConnection): Promise<TestResult> {
  const client = await openSql(conn, { timeoutMs: TEST_TIMEOUT_MS, readOnly: true });
  try {
    await client.execute("SELECT 1");
  } finally {
    await client.close();
  }
  return { status: true, message: SUCCESS };
}

/** A request to the base URL (Airflow's HttpHook.test_connection): any answer below 400 passes. */
async function testHttp(conn: ClientConnection): Promise<TestResult> {
  const response = await fetch(httpBaseUrl(conn), {
    headers: connectionHeaders(conn),
    signal: AbortSignal.timeout(TEST_TIMEOUT_MS),
  });
  await response.body?.cancel();
  if (response.status >= 400) return { status: false, message: `${response.status} ${response.statusText}` };
  return { status: true, message: SUCCESS };
}

/** Connects (over TLS unless disable_ssl) and says EHLO: the greeting must be 220, the answer 250. */
async function testSmtp(conn: ClientConnection): Promise<TestResult> {
  const host = conn.host || "localhost";
  // Airflow's SmtpHook: SSL unless the extra says disable_ssl (then plain SMTP).
  const ssl = conn.extra.disable_ssl !== true && conn.extra.disable_ssl !== "true";
  const port = conn.port ?? (ssl ? 465 : 25);
  const socket = ssl
    ? tlsConnect({ host, port, rejectUnauthorized: false, servername: host })
    : tcpConnect({ host, port });
  socket.setTimeout(TEST_TIMEOUT_MS);
  try {
    const greeting = await reply(socket);
    if (!greeting.startsWith("220"))
      return { status: false, message: `the server greeted with: ${greeting}` };
    socket.write("EHLO updraft\r\n");
    const ehlo = await reply(socket);
    socket.write("QUIT\r\n");
    if (!ehlo.startsWith("250")) return { status: false, message: `EHLO answered: ${ehlo}` };
    return { status: true, message: SUCCESS };
  } finally {
    socket.destroy();
  }
}

/** The next SMTP reply (its last line has a space after the code). */
function reply(socket: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    const done = (fn: () => void) => {
      socket.off("data", onData).off("error", onError).off("timeout", onTimeout).off("close", onClose);
      fn();
    };
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      const lines = text.split("\r\n").filter((l) => l !== "");
      if (lines.length > 0 && /^\d{3} /.test(lines.at(-1)!) && text.endsWith("\r\n"))
        done(() => resolve(lines.join("\n")));
    };
    const onError = (error: Error) => done(() => reject(error));
    const onTimeout = () => done(() => reject(new Error("the server did not answer in time")));
    const onClose = () => done(() => reject(new Error("the server closed the connection")));
    socket.on("data", onData).on("error", onError).on("timeout", onTimeout).on("close", onClose);
  });
}

const sqlFields = (port: number | undefined) => ({
  host: { placeholder: "db.example.com" },
  schema: { label: "Database" },
  ...(port ? { port: { placeholder: String(port) } } : {}),
});

/** The types Updraft's own operators, hooks, sensors and notifiers use. */
export const BUILTIN_TYPES: ConnectionType[] = [
  { connType: "generic", label: "Generic" },
  {
    connType: "http",
    label: "HTTP",
    hook: "httpHook",
    defaultConnId: "http_default",
    fields: {
      host: { placeholder: "https://api.example.com" },
      schema: { label: "Scheme", placeholder: "http or https" },
      login: { placeholder: "user for basic auth" },
      password: { placeholder: "password for basic auth" },
    },
    extraFields: [
      { name: "headers", label: "Headers", type: "json", description: "Sent with every request" },
      { name: "Authorization", label: "Authorization header", type: "string", secret: true },
    ],
    test: testHttp,
  },
  {
    connType: "postgres",
    label: "PostgreSQL",
    hook: "sqlHook",
    defaultConnId: "postgres_default",
    fields: sqlFields(5432),
    defaultPort: 5432,
    extraFields: [
      {
        name: "sslmode",
        label: "SSL mode",
        type: "string",
        description: "disable, require, verify-ca, verify-full",
      },
    ],
    test: testSql,
  },
  {
    connType: "mysql",
    label: "MySQL / MariaDB",
    hook: "sqlHook",
    defaultConnId: "mysql_default",
    fields: sqlFields(3306),
    defaultPort: 3306,
    test: testSql,
  },
  {
    connType: "sqlite",
    label: "SQLite",
    hook: "sqlHook",
    defaultConnId: "sqlite_default",
    fields: {
      host: { label: "Database file", placeholder: "/data/app.db" },
      schema: hidden,
      login: hidden,
      password: hidden,
      port: hidden,
    },
    test: testSql,
  },
  {
    connType: "smtp",
    label: "SMTP",
    defaultConnId: "smtp_default",
    fields: { host: { placeholder: "smtp.example.com" }, schema: hidden, port: { placeholder: "25" } },
    defaultPort: 25,
    extraFields: [
      { name: "from_email", label: "From email", type: "string" },
      { name: "disable_ssl", label: "Disable SSL", type: "boolean", default: false },
      { name: "disable_tls", label: "Disable STARTTLS", type: "boolean", default: false },
      { name: "timeout", label: "Timeout (seconds)", type: "number", default: 30 },
      { name: "retry_limit", label: "Retry limit", type: "number", default: 5 },
      { name: "ssl_context", label: "SSL context (default or none)", type: "string" },
    ],
    test: testSmtp,
  },
  {
    connType: "slackwebhook",
    label: "Slack Incoming Webhook",
    defaultConnId: "slack_default",
    fields: {
      host: { label: "Slack Webhook Endpoint", placeholder: "https://hooks.slack.com/services" },
      password: { label: "Webhook Token", placeholder: "T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX" },
      schema: hidden,
      login: hidden,
      port: hidden,
    },
    extraFields: [{ name: "timeout", label: "Timeout (seconds)", type: "number" }],
  },
  {
    connType: "fs",
    label: "File (path)",
    defaultConnId: "fs_default",
    fields: { host: hidden, schema: hidden, login: hidden, password: hidden, port: hidden },
    extraFields: [{ name: "path", label: "Path", type: "string", default: "/" }],
  },
];

const ALIASES: Record<string, string> = { postgresql: "postgres", mariadb: "mysql", https: "http" };

let registered: ConnectionType[] = [];

/** Adds the types providers declare (a built-in type keeps its place; a provider cannot replace it). */
export function registerConnectionTypes(types: ConnectionType[]): void {
  const known = new Set(BUILTIN_TYPES.map((t) => t.connType));
  registered = types.filter((t) => !known.has(t.connType));
}

/** Every known type, built-in first. */
export function connectionTypes(): ConnectionType[] {
  return [...BUILTIN_TYPES.map((t) => ({ provider: BUILTIN_PROVIDER, ...t })), ...registered];
}

export function connectionType(connType: string): ConnectionType | undefined {
  const name = ALIASES[connType.toLowerCase()] ?? connType.toLowerCase();
  return connectionTypes().find((t) => t.connType === name);
}

/** The extra keys a type declares secret. */
export function secretExtraKeys(connType: string | null | undefined): string[] {
  if (!connType) return [];
  return (connectionType(connType)?.extraFields ?? []).filter((f) => f.secret).map((f) => f.name);
}

/** Whether an extra key of a connection of this type is masked: by Airflow's sensitive names, or the type's secret fields. */
export function isSecretExtra(connType: string | null | undefined, key: string): boolean {
  return isSensitiveKey(key) || secretExtraKeys(connType).some((k) => k.toLowerCase() === key.toLowerCase());
}

/**
 * Tests a connection with its type's test; a driver's message never carries the password out.
 * Types without a test answer so (as Airflow does for hooks without test_connection).
 */
export async function testConnectionOf(conn: ClientConnection): Promise<TestResult> {
  const type = connectionType(conn.connType);
  if (!type?.test)
    return {
      status: false,
      message: `testing ${conn.connType} connections is not supported: ${type ? "the type declares no test" : "the type is not known"}`,
    };
  try {
    return await type.test(conn);
  } catch (error) {
    const message = (error as Error).message || String(error);
    return { status: false, message: conn.password ? message.replaceAll(conn.password, "***") : message };
  }
}

/** Airflow's ConnectionHookMetaData for one type: what the UI's connection form follows. */
export function hookMeta(t: ConnectionType) {
  const field = (name: StandardFieldName) => {
    const f = t.fields?.[name];
    const placeholder = f?.placeholder ?? (name === "port" && t.defaultPort ? String(t.defaultPort) : null);
    return { hidden: f?.hidden ?? false, title: f?.label ?? null, placeholder };
  };
  return {
    connection_type: t.connType,
    hook_class_name: t.hook ?? null,
    default_conn_name: t.defaultConnId ?? null,
    hook_name: t.label,
    standard_fields: {
      description: field("description"),
      url_schema: field("schema"),
      host: field("host"),
      port: field("port"),
      login: field("login"),
      password: field("password"),
    },
    extra_fields: Object.fromEntries(
      (t.extraFields ?? []).map((f) => [
        f.name,
        {
          value: f.default ?? null,
          description: f.description ?? null,
          schema: {
            type: [f.type === "json" ? "object" : f.type, "null"],
            title: f.label,
            ...(f.secret ? { format: "password" } : {}),
          },
          sensitive: f.secret === true,
          source: null,
        },
      ]),
    ),
    testable: typeof t.test === "function",
    provider: t.provider ?? BUILTIN_PROVIDER,
  };
}
