/**
 * Airflow connection URIs and JSON, parsed and written exactly as Airflow 3's core Connection model
 * does (`Connection(uri=...)`, `Connection.from_json`, `get_uri`), so URIs copied from an Airflow
 * deployment (AIRFLOW_CONN_* values, `airflow connections get`) mean the same thing here.
 *
 * Airflow's behaviour is Python urllib's behaviour, so the small urllib pieces it relies on
 * (urlsplit, quote, unquote, parse_qsl, urlencode, json.dumps) are reproduced below instead of
 * using WHATWG `URL`, which differs on host case, percent-decoding and special schemes.
 * The reference is ../../../../../shared/reference/airflow-connection-uri-vectors.json.
 */
import { isIP } from "node:net";
import { z } from "zod";
import { UpdraftError } from "../core/errors.ts";

const EXTRA_KEY = "__extra__";
const EXTRA_HINT =
  'must be a JSON object such as {"sslmode": "require"} (Airflow 3 rejects other JSON and plain strings); in a URI give each extra as ?key=value, or a URL-encoded JSON object as ?__extra__=...';

export const ConnectionSchema = z.object({
  connId: z.string().min(1, "must not be empty"),
  connType: z.string().min(1, "is missing: give the connection type (conn_type), e.g. postgres"),
  description: z.string().nullable(),
  host: z.string().nullable(),
  login: z.string().nullable(),
  password: z.string().nullable(),
  schema: z.string().nullable(),
  port: z
    .number()
    .int("must be an integer")
    .min(0, "must be 0-65535")
    .max(65535, "must be 0-65535")
    .nullable(),
  extra: z
    .string()
    .nullable()
    .refine((extra) => extra === null || jsonObject(extra) !== undefined, EXTRA_HINT),
});
export type Connection = z.infer<typeof ConnectionSchema>;

export class ConnectionUriError extends UpdraftError {
  readonly connId: string;
  constructor(connId: string, problem: string, options?: { cause?: unknown }) {
    super("CONNECTION_URI_INVALID", `connection "${connId}": ${problem}`, options);
    this.name = "ConnectionUriError";
    this.connId = connId;
  }
}

/** Raised by the urllib helpers, which don't know the connection id; turned into ConnectionUriError. */
class UriProblem extends Error {}

// ---------------------------------------------------------------------------------------------
// Python urllib / json, reproduced.

const ALWAYS_SAFE = /^[A-Za-z0-9_.~-]$/;

/** urllib.parse.quote(text, safe="") (or quote_plus when `plus`): '/' is encoded too. */
function quote(text: string, plus = false): string {
  let out = "";
  for (const byte of Buffer.from(text, "utf8")) {
    const char = String.fromCharCode(byte);
    if (byte < 0x80 && ALWAYS_SAFE.test(char)) out += char;
    else if (plus && char === " ") out += "+";
    else out += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** urllib.parse.unquote: unlike decodeURIComponent it never throws; bad escapes stay as written. */
function unquote(text: string): string {
  return text.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) =>
    Buffer.from(run.replaceAll("%", ""), "hex").toString("utf8"),
  );
}

function urlencode(pairs: [string, string][]): string {
  return pairs.map(([key, value]) => `${quote(key, true)}=${quote(value, true)}`).join("&");
}

/** parse_qsl(query, keep_blank_values=True): form decoding, '&' only, empty fields dropped. */
function parseQsl(query: string): [string, string][] {
  const formDecode = (text: string) => unquote(text.replaceAll("+", " "));
  return query
    .split("&")
    .filter((field) => field !== "")
    .map((field) => {
      const eq = field.indexOf("=");
      return eq < 0
        ? [formDecode(field), ""]
        : [formDecode(field.slice(0, eq)), formDecode(field.slice(eq + 1))];
    });
}

interface SplitUrl {
  scheme: string;
  netloc: string;
  path: string;
  query: string;
}

/** urllib.parse.urlsplit, including its netloc validation (brackets, NFKC). The fragment is dropped. */
function urlsplit(input: string): SplitUrl {
  // eslint-disable-next-line no-control-regex -- Python strips C0 controls and space, so do we
  let url = input.replace(/^[\x00-\x20]+/, "").replace(/[\t\r\n]/g, "");
  let scheme = "";
  let netloc = "";
  const colon = url.indexOf(":");
  if (colon > 0 && /^[A-Za-z][A-Za-z0-9+.-]*$/.test(url.slice(0, colon))) {
    scheme = url.slice(0, colon).toLowerCase();
    url = url.slice(colon + 1);
  }
  if (url.startsWith("//")) {
    const ends = ["/", "?", "#"].map((c) => url.indexOf(c, 2)).filter((i) => i >= 0);
    const end = Math.min(url.length, ...ends);
    netloc = url.slice(2, end);
    url = url.slice(end);
    checkBrackets(netloc);
  }
  url = url.split("#", 1)[0] ?? "";
  const q = url.indexOf("?");
  checkNfkc(netloc);
  return q < 0
    ? { scheme, netloc, path: url, query: "" }
    : { scheme, netloc, path: url.slice(0, q), query: url.slice(q + 1) };
}

function checkBrackets(netloc: string): void {
  const badBrackets = new UriProblem(
    'the host has misplaced "[" or "]": write an IPv6 host as [::1] (optionally [::1]:5432) and percent-encode brackets anywhere else (%5B, %5D)',
  );
  const open = netloc.includes("[");
  if (open !== netloc.includes("]")) throw badBrackets;
  if (!open) return;
  const hostPart = netloc.slice(netloc.lastIndexOf("@") + 1);
  const bracket = hostPart.indexOf("[");
  if (bracket > 0) throw badBrackets;
  if (bracket < 0) return checkBracketedHost(hostPart.split(":", 1)[0] ?? "");
  const close = hostPart.indexOf("]");
  const after = close < 0 ? "" : hostPart.slice(close + 1);
  if (after && !after.startsWith(":")) throw badBrackets;
  checkBracketedHost(close < 0 ? hostPart.slice(1) : hostPart.slice(1, close));
}

function checkBracketedHost(host: string): void {
  const valid = host.startsWith("v") ? /^v[0-9A-Fa-f]+\..+$/.test(host) : isIP(host) === 6;
  if (!valid)
    throw new UriProblem(
      'the host in "[...]" is not an IPv6 address; percent-encode "[" and "]" if they are part of a login or password',
    );
}

/** Python refuses hosts whose characters become '/', '?', '#', '@' or ':' under NFKC (spoofing). */
function checkNfkc(netloc: string): void {
  // eslint-disable-next-line no-control-regex -- plain ASCII needs no NFKC check
  if (/^[\x00-\x7f]*$/.test(netloc)) return;
  const stripped = netloc.replace(/[@:#?]/g, "");
  const normalized = stripped.normalize("NFKC");
  if (stripped !== normalized && /[/?#@:]/.test(normalized)) {
    throw new UriProblem(
      "the host part contains characters that normalize (NFKC) to URL delimiters; percent-encode them",
    );
  }
}

function userinfo(netloc: string): { username: string | null; password: string | null } {
  const at = netloc.lastIndexOf("@");
  if (at < 0) return { username: null, password: null };
  const info = netloc.slice(0, at);
  const colon = info.indexOf(":");
  return colon < 0
    ? { username: info, password: null }
    : { username: info.slice(0, colon), password: info.slice(colon + 1) };
}

function hostinfo(netloc: string): { hostname: string; port: string | null } {
  const hostPart = netloc.slice(netloc.lastIndexOf("@") + 1);
  const bracket = hostPart.indexOf("[");
  if (bracket >= 0) {
    const [hostname = "", after = ""] = splitOnce(hostPart.slice(bracket + 1), "]");
    return { hostname, port: splitOnce(after, ":")[1] || null };
  }
  const [hostname = "", port] = splitOnce(hostPart, ":");
  return { hostname, port: port || null };
}

/** Python's str.partition without the separator: [before, after] or [whole] when absent. */
function splitOnce(text: string, separator: string): [string, string?] {
  const at = text.indexOf(separator);
  return at < 0 ? [text] : [text.slice(0, at), text.slice(at + separator.length)];
}

/** SplitResult.hostname: lower-cased only up to the first '%' (Python keeps IPv6 zone ids as typed). */
function pyHostname(netloc: string): string | null {
  const { hostname } = hostinfo(netloc);
  if (!hostname) return null;
  const [head, tail] = splitOnce(hostname, "%");
  return tail === undefined ? head.toLowerCase() : `${head.toLowerCase()}%${tail}`;
}

function pyPort(netloc: string): number | null {
  const { port } = hostinfo(netloc);
  if (port === null) return null;
  // The port text is not echoed: when this fails it is usually a piece of an unencoded password.
  if (!/^[0-9]+$/.test(port)) {
    throw new UriProblem(
      'the text after the host\'s ":" is not a port number; percent-encode "/", ":", "@", "?", "#" and "%" inside the login, password and host (e.g. "/" as %2F)',
    );
  }
  if (Number(port) > 65535) throw new UriProblem("the port is outside 0-65535");
  return Number(port);
}

/** json.dumps with its defaults (", " and ": " separators, ensure_ascii) so extras match Airflow's text. */
function pyJsonDumps(value: unknown): string {
  if (typeof value === "string") return pyJsonString(value);
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(pyJsonDumps).join(", ")}]`;
  const entries = value instanceof Map ? [...value] : Object.entries(value);
  return `{${entries.map(([key, item]) => `${pyJsonString(String(key))}: ${pyJsonDumps(item)}`).join(", ")}}`;
}

function pyJsonString(text: string): string {
  return JSON.stringify(text).replace(
    /[\u007f-\uffff]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

// ---------------------------------------------------------------------------------------------
// Airflow's Connection model.

function jsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return isPlainObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function normalizeConnType(connType: string): string {
  return connType === "postgresql" ? "postgres" : connType.replaceAll("-", "_");
}

/** Each query value is JSON-decoded when it can be (Airflow PR #59339), so ?timeout=30 gives 30. */
function queryValue(text: string): unknown {
  try {
    const value: unknown = JSON.parse(text);
    // A JS number can't hold every Python int/float (huge ids, 1e400): keep the text, not a corrupted number.
    const lossy =
      typeof value === "number" &&
      (!Number.isFinite(value) || (/^\s*-?\d+\s*$/.test(text) && !Number.isSafeInteger(value)));
    return lossy ? text : value;
  } catch {
    return text;
  }
}

function extraFromQuery(query: string): string | null {
  if (!query) return null;
  // A Map, like Python's dict(): the last duplicate wins, insertion order holds even for "1"-like keys.
  const fields = new Map(parseQsl(query));
  if (fields.has(EXTRA_KEY)) return fields.get(EXTRA_KEY) || null;
  return pyJsonDumps(new Map([...fields].map(([key, text]) => [key, queryValue(text)])));
}

/** Airflow's _parse_netloc_to_hostname: a host that decodes to a path keeps its case. */
function netlocHostname(netloc: string): string {
  const hostname = unquote(pyHostname(netloc) ?? "");
  if (!hostname.includes("/")) return hostname;
  const hostPart = netloc.slice(netloc.lastIndexOf("@") + 1);
  return unquote(splitOnce(hostPart, ":")[0]);
}

function fieldsFromUri(uri: string): Record<string, unknown> {
  const schemes = uri.split("://").length - 1;
  if (schemes > 2) {
    throw new UriProblem(
      `the URI contains "://" ${schemes} times but at most two are allowed (after the type, and once for a protocol inside the host, as in spark://k8s://host:443); percent-encode the others as %3A%2F%2F`,
    );
  }
  const scheme = urlsplit(uri).scheme;
  if (!scheme)
    throw new UriProblem(
      "the URI has no connection type: it must start with one, e.g. postgres://user:pass@host:5432/db",
    );
  const hostWithProtocol = schemes === 2;
  // Airflow strips the type with str.replace, which replaces every occurrence; kept for identical results.
  const rest = uri.split(`${scheme}://`).join(hostWithProtocol ? "" : "//");
  if (hostWithProtocol && /[@:]/.test(splitOnce(rest, "://")[0])) {
    throw new UriProblem(
      'only a bare protocol may stand between the first and second "://" (as in spark://k8s://host:443), but that part contains "@" or ":"; percent-encode "@" (%40), ":" (%3A) and "/" (%2F) in logins and passwords',
    );
  }
  const parts = urlsplit(rest);
  const host = netlocHostname(parts.netloc);
  const protocol = hostWithProtocol ? parts.scheme : "";
  const { username, password } = userinfo(parts.netloc);
  return {
    connType: normalizeConnType(scheme),
    description: null,
    host: host && protocol ? `${protocol}://${host}` : host,
    login: username ? unquote(username) : username,
    // Airflow's password setter ignores falsy values, so "user:@host" has no password.
    password: password ? unquote(password) : null,
    schema: unquote(parts.path.slice(1)),
    port: pyPort(parts.netloc),
    extra: extraFromQuery(parts.query),
  };
}

function validated(connId: string, fields: Record<string, unknown>): Connection {
  const result = ConnectionSchema.safeParse({ ...fields, connId });
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue?.path.join(".") || "connection";
  throw new ConnectionUriError(connId, `${field}: ${issue?.message ?? "invalid"}`);
}

export function parseConnectionUri(connId: string, uri: string): Connection {
  let fields: Record<string, unknown>;
  try {
    fields = fieldsFromUri(uri);
  } catch (error) {
    if (error instanceof UriProblem) throw new ConnectionUriError(connId, error.message);
    throw error;
  }
  return validated(connId, fields);
}

/** Python truthiness: Airflow's from_json skips falsy conn_type, port, extra and password values. */
function truthy(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0;
  if (isPlainObject(value)) return Object.keys(value).length > 0;
  return Boolean(value);
}

const FIELDS = ["description", "host", "login", "password", "schema", "port", "extra"];
// A Map, not an object literal: a "__proto__" key in the JSON must not find Object.prototype.
const JSON_KEYS = new Map([
  ["conn_type", "connType"],
  ["connType", "connType"],
  ...FIELDS.map((f) => [f, f] as const),
]);

function camelFields(connId: string, body: Record<string, unknown>): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) {
    const field = JSON_KEYS.get(key);
    if (!field) {
      throw new ConnectionUriError(
        connId,
        `unknown key "${key}" in the JSON form; the keys are conn_type, description, host, login, password, schema, port and extra`,
      );
    }
    if (field in fields)
      throw new ConnectionUriError(
        connId,
        `the JSON form gives "${field}" twice (snake_case and camelCase); keep one`,
      );
    fields[field] = value;
  }
  return fields;
}

function jsonPort(connId: string, port: unknown): unknown {
  if (!truthy(port)) return null;
  if (typeof port === "string" && /^\s*[+-]?\d+\s*$/.test(port)) return Number(port);
  if (typeof port === "number") return port;
  throw new ConnectionUriError(connId, `port must be an integer such as 5432, got ${JSON.stringify(port)}`);
}

export function parseConnectionJson(connId: string, json: string): Connection {
  let body: unknown;
  try {
    body = JSON.parse(json);
  } catch (error) {
    throw new ConnectionUriError(
      connId,
      `the JSON form is not valid JSON (${(error as Error).message}); check quotes and commas`,
      { cause: error },
    );
  }
  if (!isPlainObject(body)) {
    throw new ConnectionUriError(
      connId,
      'the JSON form must be an object such as {"conn_type": "postgres", "host": "db", "port": 5432}',
    );
  }
  const fields = camelFields(connId, body);
  const { connType, extra, password } = fields;
  return validated(connId, {
    connType: typeof connType === "string" ? normalizeConnType(connType) : (connType ?? ""),
    description: fields.description ?? null,
    host: fields.host ?? null,
    login: fields.login ?? null,
    password: truthy(password) ? password : null,
    schema: fields.schema ?? null,
    port: jsonPort(connId, fields.port),
    extra: !truthy(extra) ? null : typeof extra === "string" ? extra : pyJsonDumps(extra),
  });
}

/** The value of an UPDRAFT_CONN_<ID> variable: JSON when it starts with "{", else a URI (as Airflow). */
export function parseConnectionValue(connId: string, value: string): Connection {
  const trimmed = value.trim();
  if (!trimmed)
    throw new ConnectionUriError(
      connId,
      'the value is empty; give a URI such as postgres://user:pass@host:5432/db or JSON such as {"conn_type": "postgres"}',
    );
  return trimmed.startsWith("{") ? parseConnectionJson(connId, trimmed) : parseConnectionUri(connId, trimmed);
}

/** Like Airflow's extra_dejson, an extra that isn't a JSON object reads as {} rather than failing the task. */
export function extraDejson(conn: Pick<Connection, "extra">): Record<string, unknown> {
  return (conn.extra && jsonObject(conn.extra)) || {};
}

function hostAndProtocol(conn: Connection): { protocol: string; host: string | null } {
  const at = conn.host?.indexOf("://") ?? -1;
  if (conn.host === null || at < 0) return { protocol: "", host: conn.host };
  const protocol = conn.host.slice(0, at);
  // A host whose protocol is the type itself is kept whole and percent-encoded: the parser would
  // otherwise strip "type://" from it a second time.
  return protocol === conn.connType
    ? { protocol: "", host: conn.host }
    : { protocol, host: conn.host.slice(at + 3) };
}

function extraQuery(conn: Connection): string {
  if (!conn.extra) return "";
  const separator = conn.schema ? "?" : "/?";
  const extra = Object.entries(extraDejson(conn));
  const flat = extra.length > 0 && extra.every(([, value]) => typeof value === "string");
  return separator + (flat ? urlencode(extra as [string, string][]) : urlencode([[EXTRA_KEY, conn.extra]]));
}

/** Airflow's get_uri. */
export function connectionToUri(conn: Connection): string {
  const { protocol, host } = hostAndProtocol(conn);
  // Airflow's model never holds an empty password (its setter drops falsy values), so "" is absent.
  const authority =
    (conn.login !== null ? quote(conn.login) : "") + (conn.password ? `:${quote(conn.password)}` : "");
  let uri = conn.connType ? `${conn.connType.toLowerCase().replaceAll("_", "-")}://` : "//";
  if (protocol) uri += `${protocol}://`;
  if (authority) uri += `${authority}@`;
  let hostBlock = host ? quote(host) : "";
  if (conn.port) hostBlock += `${hostBlock === "" && authority === "" ? "@:" : ":"}${conn.port}`;
  if (conn.schema) hostBlock += `/${quote(conn.schema)}`;
  return uri + hostBlock + extraQuery(conn);
}
