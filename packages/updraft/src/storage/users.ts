/** Users of the webserver and the API: a role each, a scrypt password hash, failed-login counting. */
import { InvalidInputError, NotFoundError, UpdraftError } from "../core/errors.ts";
import type { Database } from "./database.ts";
import { nowIso } from "./database.ts";
import type { UserRow } from "./schema.ts";

/** Failed logins of a name after which each further attempt waits for a doubling delay. */
export const LOCK_AFTER = 3;

export const ROLES = ["Admin", "Op", "User", "Viewer"] as const;
export type Role = (typeof ROLES)[number];

export interface NewUser {
  username: string;
  role: string;
  passwordHash: string;
  email?: string | null;
  firstName?: string | null;
  lastName?: string | null;
}

export type UserColumn =
  "id" | "username" | "email" | "first_name" | "last_name" | "role" | "active" | "last_login" | "created_at";

export interface UserChanges {
  role?: string;
  email?: string | null;
  firstName?: string | null;
  lastName?: string | null;
  active?: boolean;
}

export function checkRole(role: string): Role {
  const found = ROLES.find((r) => r.toLowerCase() === role.toLowerCase());
  if (!found) throw new InvalidInputError(`role "${role}" does not exist: use one of ${ROLES.join(", ")}`);
  return found;
}

export function userStore(database: Database) {
  const { db } = database;
  return {
    async create(user: NewUser, now = nowIso()): Promise<UserRow> {
      if (!/^[\w.@+-]{1,250}$/.test(user.username))
        throw new InvalidInputError(
          `username "${user.username}" is not valid: use letters, digits and . _ @ + - (at most 250)`,
        );
      if (await this.get(user.username))
        throw new UpdraftError("ALREADY_EXISTS", `user "${user.username}" already exists`);
      await db
        .insertInto("users")
        .values({
          username: user.username,
          role: checkRole(user.role),
          password_hash: user.passwordHash,
          email: user.email ?? null,
          first_name: user.firstName ?? null,
          last_name: user.lastName ?? null,
          active: 1,
          created_at: now,
        })
        .execute();
      return (await this.get(user.username))!;
    },

    async get(username: string): Promise<UserRow | undefined> {
      return db.selectFrom("users").selectAll().where("username", "=", username).executeTakeFirst();
    },

    async list(): Promise<UserRow[]> {
      return db.selectFrom("users").selectAll().orderBy("username").execute();
    },

    /** One page of users ordered by `column` (a trusted column name), and how many there are. */
    async page(
      limit: number,
      offset: number,
      order: { column: UserColumn; desc: boolean } = { column: "username", desc: false },
    ): Promise<{ rows: UserRow[]; total: number }> {
      const counted = await db
        .selectFrom("users")
        .select((eb) => eb.fn.countAll<number | string>().as("n"))
        .executeTakeFirst();
      const rows = await db
        .selectFrom("users")
        .selectAll()
        .orderBy(order.column, order.desc ? "desc" : "asc")
        .orderBy("id")
        .limit(limit)
        .offset(offset)
        .execute();
      return { rows, total: Number(counted?.n ?? 0) };
    },

    /** Changes a user's profile, role or whether they may log in; the new row. */
    async update(username: string, changes: UserChanges): Promise<UserRow> {
      const set = {
        ...(changes.role !== undefined ? { role: checkRole(changes.role) } : {}),
        ...(changes.email !== undefined ? { email: changes.email } : {}),
        ...(changes.firstName !== undefined ? { first_name: changes.firstName } : {}),
        ...(changes.lastName !== undefined ? { last_name: changes.lastName } : {}),
        ...(changes.active !== undefined ? { active: changes.active ? 1 : 0 } : {}),
      };
      // A new role or a deactivation ends the user's sessions (the API also reads both per request).
      const ends = changes.role !== undefined || changes.active !== undefined;
      if (Object.keys(set).length > 0)
        await db
          .updateTable("users")
          .set((eb) => ({ ...set, ...(ends ? { token_version: eb("token_version", "+", 1) } : {}) }))
          .where("username", "=", username)
          .execute();
      const row = await this.get(username);
      if (!row) throw new NotFoundError(`user "${username}" does not exist`);
      return row;
    },

    async delete(username: string): Promise<void> {
      const r = await db.deleteFrom("users").where("username", "=", username).executeTakeFirst();
      if (Number(r.numDeletedRows) === 0) throw new NotFoundError(`user "${username}" does not exist`);
    },

    async setPassword(username: string, passwordHash: string): Promise<void> {
      const r = await db
        .updateTable("users")
        .set((eb) => ({ password_hash: passwordHash, token_version: eb("token_version", "+", 1) }))
        .where("username", "=", username)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0) throw new NotFoundError(`user "${username}" does not exist`);
      await db.deleteFrom("login_attempt").where("name", "=", username).execute();
    },

    /** Ends every session and token of the user (logout): tokens of an older version are refused. */
    async endSessions(username: string): Promise<void> {
      await db
        .updateTable("users")
        .set((eb) => ({ token_version: eb("token_version", "+", 1) }))
        .where("username", "=", username)
        .execute();
    },

    async loginSucceeded(username: string, now = nowIso()): Promise<void> {
      await db.updateTable("users").set({ last_login: now }).where("username", "=", username).execute();
      await db.deleteFrom("login_attempt").where("name", "=", username).execute();
    },

    /**
     * Claims a login attempt for `name` before its password is checked, counting it as a failure
     * until it succeeds: the count is raised in the statement that checks the lock, so parallel
     * guesses are judged one at a time and at most LOCK_AFTER of them get past a lock. Names that
     * belong to no user are counted the same way, so the lock reveals nothing about who exists.
     * From the LOCK_AFTER-th attempt on, the name is locked for 2^(n-LOCK_AFTER) s (at most 5 minutes).
     */
    async claimLogin(
      name: string,
      now = nowIso(),
    ): Promise<{ claimed: true } | { claimed: false; lockedUntil: string }> {
      // The row exists before the transaction: inserting in it would make parallel claims on MySQL
      // take shared locks on the duplicate key and deadlock when they raise the count.
      const insert = db.insertInto("login_attempt").values({ name, failures: 0, locked_until: null });
      if (database.adapter.capabilities.supportsOnConflict)
        await insert.onConflict((oc) => oc.column("name").doNothing()).execute();
      else await insert.ignore().execute();
      return db.transaction().execute(async (trx) => {
        const raised = await trx
          .updateTable("login_attempt")
          .set((eb) => ({ failures: eb("failures", "+", 1) }))
          .where("name", "=", name)
          .where((eb) => eb.or([eb("locked_until", "is", null), eb("locked_until", "<=", now)]))
          .executeTakeFirst();
        const row = await trx
          .selectFrom("login_attempt")
          .select(["failures", "locked_until"])
          .where("name", "=", name)
          .executeTakeFirstOrThrow();
        if (Number(raised.numUpdatedRows) === 0) return { claimed: false, lockedUntil: row.locked_until! };
        if (row.failures >= LOCK_AFTER) {
          const seconds = Math.min(2 ** (row.failures - LOCK_AFTER), 300);
          await trx
            .updateTable("login_attempt")
            .set({ locked_until: new Date(Date.parse(now) + seconds * 1000).toISOString() })
            .where("name", "=", name)
            .execute();
        }
        return { claimed: true };
      });
    },
  };
}
