/**
 * Users and roles over HTTP, at the paths and in the shapes of Airflow 3's FAB auth manager API
 * (/auth/fab/v1/users, /auth/fab/v1/roles), so scripts written for Airflow manage Updraft's users too.
 * Admins only. Password hashes never leave the server; a password is only ever written (create, or a
 * PATCH naming `password`). Updraft extension: `active` can be patched (deactivate / activate a user).
 * Airflow's public spec has no such operations: users-spec.ts describes them, the served document
 * and `ctx.route` take them from there, which gives them the same validation,
 * authentication, CSRF check and error shapes as every other route.
 */
import type { FastifyRequest } from "fastify";
import { ROLES, userStore, type UserColumn } from "../../storage/users.ts";
import type { UserRow } from "../../storage/schema.ts";
import type { ApiContext, ApiUser } from "../app.ts";
import { checkPasswordPolicy, hashPassword } from "../auth/passwords.ts";
import { badRequest, conflict, forbidden, notFound } from "../errors.ts";
import { paging } from "../paging.ts";
import { fieldsToUpdate } from "./admin-common.ts";

type Json = Record<string, unknown>;

/** A user as FAB answers; the hash, lock and ids stay behind. */
export function userResponse(row: UserRow): Json {
  return {
    username: row.username,
    email: row.email,
    first_name: row.first_name,
    last_name: row.last_name,
    active: Boolean(row.active),
    roles: [{ name: row.role }],
    last_login: row.last_login,
    // Updraft does not count successful logins.
    login_count: null,
    failed_login_count: row.failed_logins,
    created_on: row.created_at,
    changed_on: null,
  };
}

const ORDER: Record<string, UserColumn> = {
  id: "id",
  username: "username",
  email: "email",
  first_name: "first_name",
  last_name: "last_name",
  active: "active",
  last_login: "last_login",
  created_on: "created_at",
  role: "role",
};

function orderOf(orderBy: string | undefined): { column: UserColumn; desc: boolean } {
  const field = (orderBy ?? "username").trim();
  const desc = field.startsWith("-");
  const column = ORDER[desc ? field.slice(1) : field];
  if (!column)
    throw badRequest(
      `Ordering with '${field}' is disallowed or the attribute does not exist on the model (allowed: ${Object.keys(ORDER).join(", ")})`,
    );
  return { column, desc };
}

interface UserBody {
  username?: string;
  email?: string | null;
  first_name?: string | null;
  last_name?: string | null;
  roles?: { name: string }[];
  password?: string;
  active?: boolean;
}

interface LooseRequest {
  params: { username?: string };
  query: { limit?: number; offset?: number; order_by?: string; update_mask?: string[] };
  body: UserBody;
  user: ApiUser;
  raw: FastifyRequest;
}
type LooseRoute = (
  operationId: string,
  handler: (request: LooseRequest) => Promise<unknown>,
  options?: { status?: number },
) => void;

const UPDATABLE = ["email", "first_name", "last_name", "roles", "password", "active"];

export function registerUserRoutes(ctx: ApiContext): void {
  const users = () => userStore(ctx.database);
  const route = ctx.route as unknown as LooseRoute;
  /** Only Admins manage users, whatever the operation's kind (a GET included). */
  const admin =
    (operationId: string, handler: (request: LooseRequest) => Promise<unknown>) =>
    async (request: LooseRequest) => {
      if (request.user.role !== "Admin")
        throw forbidden(`Your role (${request.user.role}) may not do this (${operationId})`);
      return handler(request);
    };
  const existing = async (username: string) => {
    const row = await users().get(username);
    if (!row) throw notFound(`The User with username \`${username}\` was not found`);
    return row;
  };
  const roleOf = (body: UserBody) => body.roles?.[0]?.name;

  route(
    "get_users",
    admin("get_users", async ({ query }) => {
      const { limit, offset } = paging(query);
      const { rows, total } = await users().page(limit, offset, orderOf(query.order_by));
      return { users: rows.map(userResponse), total_entries: total };
    }),
  );

  route(
    "get_user",
    admin("get_user", async ({ params }) => userResponse(await existing(params.username!))),
  );

  route(
    "post_user",
    admin("post_user", async ({ body, raw }) => {
      const username = body.username!;
      if (await users().get(username))
        throw conflict(`Username \`${username}\` already exists. Use PATCH to update.`);
      checkPasswordPolicy(username, body.password!, ctx.config.values.api.password_min_length);
      const row = await users().create(
        {
          username,
          role: roleOf(body)!,
          passwordHash: await hashPassword(body.password!),
          email: body.email ?? null,
          firstName: body.first_name ?? null,
          lastName: body.last_name ?? null,
        },
        ctx.now(),
      );
      await ctx.audit(raw, "post_user", { extra: { username, role: row.role } });
      return userResponse(row);
    }),
  );

  route(
    "patch_user",
    admin("patch_user", async ({ params, query, body, raw }) => {
      const username = params.username!;
      await existing(username);
      if (body.username !== undefined && body.username !== username)
        throw badRequest(`The username in the body (${body.username}) differs from the path's (${username})`);
      const fields = fieldsToUpdate(body, query.update_mask, UPDATABLE, "username", "user");
      const has = (f: string) => fields.includes(f);
      if (has("active") && body.active === false && username === raw.user?.username)
        throw badRequest("You cannot deactivate yourself");
      if (has("roles") && username === raw.user?.username && roleOf(body)?.toLowerCase() !== "admin")
        throw badRequest("You cannot take the Admin role from yourself");
      if (has("password"))
        checkPasswordPolicy(username, body.password ?? "", ctx.config.values.api.password_min_length);
      const row = await users().update(username, {
        ...(has("roles") ? { role: roleOf(body)! } : {}),
        ...(has("email") ? { email: body.email ?? null } : {}),
        ...(has("first_name") ? { firstName: body.first_name ?? null } : {}),
        ...(has("last_name") ? { lastName: body.last_name ?? null } : {}),
        ...(has("active") ? { active: body.active! } : {}),
      });
      if (has("password")) await users().setPassword(username, await hashPassword(body.password!));
      ctx.sessions.forget(username);
      // The audit says which fields changed, never the password itself.
      await ctx.audit(raw, "patch_user", { extra: { username, fields, role: row.role } });
      return userResponse(has("password") ? (await users().get(username))! : row);
    }),
  );

  route(
    "delete_user",
    admin("delete_user", async ({ params, raw }) => {
      const username = params.username!;
      await existing(username);
      if (username === raw.user?.username) throw badRequest("You cannot delete yourself");
      await users().delete(username);
      ctx.sessions.forget(username);
      await ctx.audit(raw, "delete_user", { extra: { username } });
    }),
  );

  route(
    "get_roles",
    admin("get_roles", async () => ({
      roles: ROLES.map((name) => ({ name, actions: [] })),
      total_entries: ROLES.length,
    })),
  );
}
