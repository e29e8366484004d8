/**
 * Whether a valid token still stands for a session (API ADR A3): its user exists, is active, and has
 * not raised their token version since it was issued (logout, new password, new role, deactivation).
 * The role a request acts with is the user's current one, not the token's. Users are read at most
 * every TTL_MS per webserver (one indexed read per user, not per request, under load); a change made
 * through this webserver is seen at once, one made elsewhere within TTL_MS.
 */
import type { Database } from "../../storage/database.ts";
import { checkRole, type Role } from "../../storage/users.ts";
import { HttpError } from "../errors.ts";
import type { TokenClaims } from "./tokens.ts";

const TTL_MS = 2000;
const MAX_CACHED = 10_000;

interface Known {
  user: { role: string; active: number; token_version: number } | undefined;
  at: number;
}

export class Sessions {
  readonly #database: Database;
  readonly #cache = new Map<string, Known>();

  constructor(database: Database) {
    this.#database = database;
  }

  /** The user a token stands for now; 401 when its session has ended. */
  async check(claims: TokenClaims, now = Date.now()): Promise<{ username: string; role: Role }> {
    const { user } = await this.#load(claims.username, now);
    if (!user || !user.active)
      throw new HttpError(401, "Your account no longer exists or is inactive: ask an Admin");
    if (user.token_version !== claims.version)
      throw new HttpError(401, "Your session has ended (logout, a new password or a new role): log in again");
    return { username: claims.username, role: checkRole(user.role) };
  }

  /** Forgets what is cached of a user this webserver just changed. */
  forget(username: string): void {
    this.#cache.delete(username);
  }

  async #load(username: string, now: number): Promise<Known> {
    const cached = this.#cache.get(username);
    if (cached && now - cached.at < TTL_MS) return cached;
    const user = await this.#database.db
      .selectFrom("users")
      .select(["role", "active", "token_version"])
      .where("username", "=", username)
      .executeTakeFirst();
    if (this.#cache.size >= MAX_CACHED) this.#cache.clear();
    const known = { user: user && { ...user, active: Number(user.active) }, at: now };
    this.#cache.set(username, known);
    return known;
  }
}
