/** Variables: key/value settings for DAGs. Secret ones are encrypted at rest. */
import { InvalidInputError, NotFoundError } from "../core/errors.ts";
import type { SecretCipher } from "../secrets/cipher.ts";
import type { Database } from "./database.ts";
import { upsert } from "./upsert.ts";
import { isSensitiveName } from "../core/sensitive.ts";
import { holdsTry, type TryFence } from "./task-instances.ts";

export interface Variable {
  key: string;
  value: string;
  description: string | null;
  isSecret: boolean;
}

export { isSensitiveName } from "../core/sensitive.ts";

/** The longest key the table holds (varchar(250)); a longer one would be cut or refused per database. */
export const MAX_VARIABLE_KEY = 250;

/** A key every database stores alike: 1-250 characters of valid Unicode with no NUL. */
export function checkVariableKey(key: string): void {
  const problem =
    key.length === 0
      ? "is empty"
      : key.length > MAX_VARIABLE_KEY
        ? `is ${key.length} characters long (at most ${MAX_VARIABLE_KEY})`
        : !key.isWellFormed()
          ? "has a lone UTF-16 surrogate (not valid Unicode)"
          : key.includes("\u0000")
            ? "contains a NUL character"
            : undefined;
  if (problem) {
    const shown = key.length > 60 ? `${key.slice(0, 60)}…` : key;
    throw new InvalidInputError(`variable key "${shown.toWellFormed()}" ${problem}`);
  }
}

/** A variable every database stores alike: checkVariableKey, and a value of valid Unicode. */
export function checkVariable(key: string, value: string): void {
  checkVariableKey(key);
  if (!value.isWellFormed())
    throw new InvalidInputError(
      `variable "${key}": the value has a lone UTF-16 surrogate; send valid Unicode`,
    );
}

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
      checkVariable(variable.key, variable.value);
      const secret = variable.isSecret ?? isSensitiveName(variable.key);
      const row = {
        key: variable.key,
        val: secret ? cipher.encrypt(variable.value) : variable.value,
        description: variable.description ?? null,
        is_encrypted: secret ? 1 : 0,
      };
      await upsert(database, db, "variable", row, ["key"], ["val", "description", "is_encrypted"]);
    },
    /**
     * A running try's write (setVariable), fenced by the try: nothing is written, and undefined is
     * returned, unless the try still runs its task instance. A secret variable stays secret (encrypted)
     * whatever its name; a description not given keeps the one stored.
     */
    async setForTry(
      fence: TryFence,
      variable: { key: string; value: string; description?: string | null },
    ): Promise<Variable | undefined> {
      checkVariable(variable.key, variable.value);
      return db.transaction().execute(async (trx) => {
        if (!(await holdsTry(database, trx, fence))) return undefined;
        const stored = await trx
          .selectFrom("variable")
          .select(["description", "is_encrypted"])
          .where("key", "=", variable.key)
          .executeTakeFirst();
        const isSecret = Boolean(stored?.is_encrypted) || isSensitiveName(variable.key);
        const description = variable.description ?? stored?.description ?? null;
        const row = {
          key: variable.key,
          val: isSecret ? cipher.encrypt(variable.value) : variable.value,
          description,
          is_encrypted: isSecret ? 1 : 0,
        };
        await upsert(database, trx, "variable", row, ["key"], ["val", "description", "is_encrypted"]);
        return { key: variable.key, value: variable.value, description, isSecret };
      });
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
