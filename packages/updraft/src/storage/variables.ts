/** Variables: key/value settings for DAGs. Secret ones are encrypted at rest. */
import { NotFoundError } from "../core/errors.ts";
import type { SecretCipher } from "../secrets/cipher.ts";
import type { Database } from "./database.ts";
import { upsert } from "./upsert.ts";
import { isSensitiveName } from "../core/sensitive.ts";

export interface Variable {
  key: string;
  value: string;
  description: string | null;
  isSecret: boolean;
}

export { isSensitiveName } from "../core/sensitive.ts";

export function variableStore(database: Database, cipher: SecretCipher) {
  const { db } = database;
  const decode = (row: {
    key: string;
    val: string | null;
    description: string | null;
    is_encrypted: number;
  }): Variable => ({
    key: row.key,
    value: row.is_encrypted ? cipher.decrypt(row.val ?? "") : (row.val ?? ""),
    description: row.description,
    isSecret: Boolean(row.is_encrypted),
  });
  return {
    async get(key: string): Promise<Variable | undefined> {
      const row = await db.selectFrom("variable").selectAll().where("key", "=", key).executeTakeFirst();
      return row && decode(row);
    },
    async set(variable: {
      key: string;
      value: string;
      description?: string | null;
      isSecret?: boolean;
    }): Promise<void> {
      const secret = variable.isSecret ?? isSensitiveName(variable.key);
      const row = {
        key: variable.key,
        val: secret ? cipher.encrypt(variable.value) : variable.value,
        description: variable.description ?? null,
        is_encrypted: secret ? 1 : 0,
      };
      await upsert(database, db, "variable", row, ["key"], ["val", "description", "is_encrypted"]);
    },
    async list(): Promise<Variable[]> {
      const rows = await db.selectFrom("variable").selectAll().orderBy("key").execute();
      return rows.map(decode);
    },
    async delete(key: string): Promise<void> {
      const result = await db.deleteFrom("variable").where("key", "=", key).executeTakeFirst();
      if (Number(result.numDeletedRows) === 0) throw new NotFoundError(`variable "${key}" does not exist`);
    },
  };
}
export type VariableStore = ReturnType<typeof variableStore>;
