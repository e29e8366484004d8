/** Users of the webserver and the API: a role each, a scrypt password hash, failed-login counting. */
import { InvalidInputError, NotFoundError, UpdraftError } from "../core/errors.ts";
import type { Database } from "./database.ts";
import { nowIso } from "./database.ts";
import type { UserRow } from "./schema.ts";

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
      if (Object.keys(set).length > 0)
        await db.updateTable("users").set(set).where("username", "=", username).execute();
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
        .set({ password_hash: passwordHash, failed_logins: 0, locked_until: null })
        .where("username", "=", username)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0) throw new NotFoundError(`user "${username}" does not exist`);
    },

    async loginSucceeded(username: string, now = nowIso()): Promise<void> {
      await db
        .updateTable("users")
        .set({ last_login: now, failed_logins: 0, locked_until: null })
        .where("username", "=", username)
        .execute();
    },

    /** Counts a failure; from the third on, the user is locked for 2^(n-3) s (at most 5 minutes). */
    async loginFailed(user: UserRow, now = nowIso()): Promise<void> {
      const failures = user.failed_logins + 1;
      const seconds = failures >= 3 ? Math.min(2 ** (failures - 3), 300) : 0;
      await db
        .updateTable("users")
        .set({
          failed_logins: failures,
          locked_until: seconds ? new Date(Date.parse(now) + seconds * 1000).toISOString() : null,
        })
        .where("id", "=", user.id)
        .execute();
    },
  };
}
