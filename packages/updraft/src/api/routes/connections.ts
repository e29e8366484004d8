/**
 * Connections (Airflow's /api/v2/connections). Passwords never leave the server: an answer has
 * "***" where a password is set (null where none), and extras have the values of sensitive keys
 * masked. Sending "***" back (as password, or as an extra's value) keeps the stored value. Reads never
 * decrypt passwords at all.
 */
import { ConnectionSchema, extraDejson, type Connection } from "../../connections/uri.ts";
import { testConnectionOf } from "../../connections/types.ts";
import { connectionStore } from "../../storage/connections.ts";
import type { ConnectionRow } from "../../storage/schema.ts";
import type { ApiContext } from "../app.ts";
import { badRequest, conflict, forbidden, notFound } from "../errors.ts";
import type { components } from "../generated/airflow-v2.ts";
import { cipherOf, fieldsToUpdate, unprocessable, listPage } from "./admin-common.ts";
import { changedKeys, runBulk } from "./bulk.ts";
import { MASK, redactExtra, unmaskExtra } from "./redact.ts";

type ConnectionBody = components["schemas"]["ConnectionBody"];
type ConnectionResponse = components["schemas"]["ConnectionResponse"];

const ORDER = {
  connection_id: "conn_id",
  conn_id: "conn_id",
  conn_type: "conn_type",
  description: "description",
  host: "host",
  port: "port",
  id: "id",
};

const UPDATABLE = ["conn_type", "description", "host", "login", "schema", "port", "password", "extra"];
const FIELD_OF: Record<string, string> = { connId: "connection_id", connType: "conn_type" };

const notFoundId = (id: string) => notFound(`The Connection with connection_id: \`${id}\` was not found`);

/** Airflow's defaults that Updraft can use (its full list names ~60 provider connections). */
const DEFAULT_CONNECTIONS: ConnectionBody[] = [
  {
    connection_id: "postgres_default",
    conn_type: "postgres",
    host: "postgres",
    login: "postgres",
    password: "airflow",
    schema: "airflow",
  },
  { connection_id: "mysql_default", conn_type: "mysql", host: "mysql", login: "root", schema: "airflow" },
  { connection_id: "http_default", conn_type: "http", host: "https://www.httpbin.org/" },
  { connection_id: "fs_default", conn_type: "fs", extra: '{"path": "/"}' },
  { connection_id: "redis_default", conn_type: "redis", host: "redis", port: 6379, extra: '{"db": 0}' },
];

/** A connection as Updraft keeps it, checked as Airflow's ConnectionBody validators do (422). */
function toConnection(body: ConnectionBody): Connection {
  const conn = {
    connId: body.connection_id,
    connType: body.conn_type,
    description: body.description ?? null,
    host: body.host ?? null,
    login: body.login ?? null,
    password: body.password ?? null,
    schema: body.schema ?? null,
    port: body.port ?? null,
    // Airflow reads an empty extra as an empty object.
    extra: body.extra === "" ? "{}" : (body.extra ?? null),
  };
  return validated(conn);
}

function validated(conn: Connection): Connection {
  const result = ConnectionSchema.safeParse(conn);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = String(issue.path[0] ?? "connection");
  throw unprocessable(
    FIELD_OF[field] ?? field,
    `Value error, ${field === "extra" ? "The `extra` field " : ""}${issue.message}`,
  );
}

function fromConnection(c: Connection): ConnectionResponse {
  return {
    connection_id: c.connId,
    conn_type: c.connType,
    description: c.description,
    host: c.host,
    login: c.login,
    schema: c.schema,
    port: c.port,
    password: c.password === null ? null : MASK,
    extra: redactExtra(c.extra, c.connType),
    team_name: null,
  };
}

export function registerConnectionRoutes(ctx: ApiContext): void {
  const { db } = ctx.database;
  const store = () => connectionStore(ctx.database, cipherOf(ctx));

  /** An answer from a row: the extra is decrypted to mask it key by key; the password is not read. */
  const fromRow = (row: ConnectionRow): ConnectionResponse =>
    fromConnection({
      connId: row.conn_id,
      connType: row.conn_type,
      description: row.description,
      host: row.host,
      login: row.login,
      password: row.password === null ? null : MASK,
      schema: row.schema,
      port: row.port,
      extra: row.extra !== null && row.is_extra_encrypted ? cipherOf(ctx).decrypt(row.extra) : row.extra,
    });

  /** What the client sent, with "***" where it echoes masked values replaced by the stored ones. */
  const unmasked = (conn: Connection, stored: Connection | undefined): Connection =>
    stored
      ? {
          ...conn,
          password: conn.password === MASK ? stored.password : conn.password,
          extra: unmaskExtra(conn.extra, stored.extra),
        }
      : conn;

  async function update(
    id: string,
    body: ConnectionBody,
    mask: string[] | null | undefined,
  ): Promise<Connection> {
    const old = await store().get(id);
    if (!old) throw notFoundId(id);
    const fields = fieldsToUpdate(body, mask, UPDATABLE, "connection_id", "connection");
    const sent = unmasked(toConnection(body), old);
    const next: Connection = { ...old };
    if (fields.includes("conn_type")) next.connType = sent.connType;
    if (fields.includes("description")) next.description = sent.description;
    if (fields.includes("host")) next.host = sent.host;
    if (fields.includes("login")) next.login = sent.login;
    if (fields.includes("schema")) next.schema = sent.schema;
    if (fields.includes("port")) next.port = sent.port;
    if (fields.includes("password")) next.password = sent.password;
    if (fields.includes("extra")) next.extra = sent.extra;
    await store().set(validated(next));
    return next;
  }

  async function create(body: ConnectionBody, overwrite = false): Promise<Connection> {
    let conn = toConnection(body);
    if (overwrite) conn = unmasked(conn, await store().get(conn.connId));
    await store().set(conn);
    return conn;
  }

  ctx.route("get_connections", async ({ query }) => {
    const { rows, total } = await listPage(
      db.selectFrom("connection").selectAll(),
      query,
      { column: "conn_id", pattern: query.connection_id_pattern },
      ORDER,
    );
    return { connections: rows.map(fromRow), total_entries: total };
  });

  ctx.route("get_connection", async ({ params }) => {
    const row = await db
      .selectFrom("connection")
      .selectAll()
      .where("conn_id", "=", params.connection_id)
      .executeTakeFirst();
    if (!row) throw notFoundId(params.connection_id);
    return fromRow(row);
  });

  ctx.route(
    "post_connection",
    async ({ body, raw }) => {
      const conn = toConnection(body);
      if (await store().exists(conn.connId))
        throw conflict(`The Connection with connection_id: \`${conn.connId}\` already exists`);
      await create(body);
      await ctx.audit(raw, "post_connection", { extra: { connection_id: conn.connId } });
      return fromConnection(conn);
    },
    { status: 201 },
  );

  ctx.route("patch_connection", async ({ params, query, body, raw }) => {
    if (body.connection_id !== params.connection_id)
      throw badRequest("The connection_id in the request body does not match the URL parameter");
    const updated = await update(params.connection_id, body, query.update_mask);
    const fields = fieldsToUpdate(body, query.update_mask, UPDATABLE, "connection_id", "connection");
    await ctx.audit(raw, "patch_connection", { extra: { connection_id: params.connection_id, fields } });
    return fromConnection(updated);
  });

  ctx.route("delete_connection", async ({ params, raw }) => {
    if (!(await store().exists(params.connection_id))) throw notFoundId(params.connection_id);
    await store().delete(params.connection_id);
    await ctx.audit(raw, "delete_connection", { extra: { connection_id: params.connection_id } });
  });

  ctx.route("bulk_connections", async ({ body, raw }) => {
    const response = await runBulk<ConnectionBody>(body.actions, {
      noun: "connections",
      keyNoun: "connection_ids",
      keyOf: (c) => c.connection_id,
      async existing(ids) {
        if (ids.length === 0) return new Set();
        const rows = await db
          .selectFrom("connection")
          .select("conn_id")
          .where("conn_id", "in", ids)
          .execute();
        return new Set(rows.map((r) => r.conn_id));
      },
      async create(entity, overwrite) {
        await create(entity, overwrite);
      },
      async update(entity, mask) {
        await update(entity.connection_id, entity, mask);
      },
      remove: (id) => store().delete(id),
    });
    const changed = changedKeys(response);
    if (Object.keys(changed).length) await ctx.audit(raw, "bulk_connections", { extra: changed });
    return response;
  });

  ctx.route("test_connection", async ({ body }) => {
    if (ctx.config.values.core.test_connection.toLowerCase() !== "enabled")
      throw forbidden(
        'Testing connections is disabled: an administrator can enable it with [core] test_connection = "Enabled"',
      );
    const sent = toConnection(body);
    const stored = await store().get(body.connection_id);
    refuseMovedSecrets(sent, stored);
    return testConnection(unmasked(sent, stored));
  });

  ctx.route("create_default_connections", async ({ raw }) => {
    const created: string[] = [];
    for (const body of DEFAULT_CONNECTIONS) {
      if (await store().exists(body.connection_id)) continue;
      await create(body);
      created.push(body.connection_id);
    }
    await ctx.audit(raw, "create_default_connections", { extra: { created } });
  });
}

/**
 * A masked secret ("***") stands for the stored one only where it would be sent to the same place:
 * otherwise a caller could point a test at their own listener and receive the stored password.
 */
function refuseMovedSecrets(sent: Connection, stored: Connection | undefined): void {
  const masked = sent.password === MASK || (sent.extra ?? "").includes(`"${MASK}"`);
  if (!masked) return;
  if (!stored)
    throw forbidden(
      `connection "${sent.connId}" is not stored, so "${MASK}" stands for no secret: send the secret itself`,
    );
  const moved = (["connType", "host", "port", "login"] as const).filter(
    (field) => String(sent[field] ?? "") !== String(stored[field] ?? ""),
  );
  if (moved.length)
    throw forbidden(
      `the stored secret of connection "${sent.connId}" is only reused for its own type, host, port and login; ${moved.map(snake).join(", ")} changed: send the secret itself`,
    );
}

const snake = (field: string) => (field === "connType" ? "conn_type" : field);

/**
 * Tests a connection with its type's test from the registry (connections/types.ts): SELECT 1 for
 * the SQL types, a request to an http connection's base URL, EHLO to an SMTP server; other types
 * answer that they cannot be tested, as Airflow does for hooks without a test.
 */
export function testConnection(conn: Connection): Promise<{ status: boolean; message: string }> {
  return testConnectionOf({ ...conn, extra: extraDejson(conn) });
}
