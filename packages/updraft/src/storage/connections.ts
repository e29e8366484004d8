/** Connections: credentials for outside systems. Passwords and extras are encrypted at rest. */
import { NotFoundError } from "../core/errors.ts";
import type { Connection } from "../connections/uri.ts";
import type { SecretCipher } from "../secrets/cipher.ts";
import type { ConnectionRow } from "./schema.ts";
import type { Database } from "./database.ts";
import { upsert } from "./upsert.ts";

export function connectionStore(database: Database, cipher: SecretCipher) {
  const { db } = database;
  const reveal = (value: string | null, encrypted: number) =>
    value !== null && encrypted ? cipher.decrypt(value) : value;
  const decode = (row: ConnectionRow): Connection => ({
    connId: row.conn_id,
    connType: row.conn_type,
    description: row.description,
    host: row.host,
    login: row.login,
    password: reveal(row.password, row.is_encrypted),
    schema: row.schema,
    port: row.port,
    extra: reveal(row.extra, row.is_extra_encrypted),
  });
  return {
    async get(connId: string): Promise<Connection | undefined> {
      const row = await db
        .selectFrom("connection")
        .selectAll()
        .where("conn_id", "=", connId)
        .executeTakeFirst();
      return row && decode(row);
    },
    async exists(connId: string): Promise<boolean> {
      const row = await db
        .selectFrom("connection")
        .select("id")
        .where("conn_id", "=", connId)
        .executeTakeFirst();
      return row !== undefined;
    },
    async set(conn: Connection): Promise<void> {
      const row = {
        conn_id: conn.connId,
        conn_type: conn.connType,
        description: conn.description,
        host: conn.host,
        schema: conn.schema,
        login: conn.login,
        password: conn.password === null ? null : cipher.encrypt(conn.password),
        port: conn.port,
        extra: conn.extra === null ? null : cipher.encrypt(conn.extra),
        is_encrypted: conn.password === null ? 0 : 1,
        is_extra_encrypted: conn.extra === null ? 0 : 1,
      };
      const { conn_id: _key, ...updates } = row;
      await upsert(
        database,
        db,
        "connection",
        row,
        ["conn_id"],
        Object.keys(updates) as (keyof typeof updates)[],
      );
    },
    async list(): Promise<Connection[]> {
      const rows = await db.selectFrom("connection").selectAll().orderBy("conn_id").execute();
      return rows.map(decode);
    },
    async delete(connId: string): Promise<void> {
      const result = await db.deleteFrom("connection").where("conn_id", "=", connId).executeTakeFirst();
      if (Number(result.numDeletedRows) === 0)
        throw new NotFoundError(`connection "${connId}" does not exist`);
    },
  };
}
export type ConnectionStore = ReturnType<typeof connectionStore>;
