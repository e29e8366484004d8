/**
 * Users and roles over HTTP, at the paths and in the shapes of Airflow 3's FAB auth manager API
 * (/auth/fab/v1/users, /auth/fab/v1/roles), so scripts written for Airflow manage Updraft's users too.
 * Admins only. Password hashes never leave the server; a password is only ever written (create, or a
 * PATCH naming `password`). Updraft extension: `active` can be patched (deactivate / activate a user).
 * Airflow's public spec has no such operations, so they are described here and added to the served
 * document and to the operations `ctx.route` knows, which gives them the same validation,
 * authentication, CSRF check and error shapes as every other route.
 */
import type { FastifyRequest } from "fastify";
import { ROLES, userStore, type UserColumn } from "../../storage/users.ts";
import type { UserRow } from "../../storage/schema.ts";
import type { ApiContext, ApiUser } from "../app.ts";
import { hashPassword } from "../auth/passwords.ts";
import { badRequest, conflict, forbidden, notFound } from "../errors.ts";
import { paging } from "../paging.ts";
import { operations, type Operation } from "../spec.ts";
import { fieldsToUpdate } from "./admin-common.ts";

type Json = Record<string, unknown>;

const TAG = "User";
const BASE = "/auth/fab/v1";

const text = { type: "string", minLength: 1 };
const nullableTime = { type: ["string", "null"], format: "date-time", readOnly: true };
const roleRef = {
  type: "object",
  properties: { name: { type: "string", minLength: 1 } },
  required: ["name"],
};

/** FAB's UserCollectionItem: what every answer about a user holds (never a password or its hash). */
const USER_SCHEMA: Json = {
  type: "object",
  properties: {
    username: text,
    email: { type: ["string", "null"] },
    first_name: { type: ["string", "null"] },
    last_name: { type: ["string", "null"] },
    active: { type: ["boolean", "null"], readOnly: true },
    roles: { type: ["array", "null"], items: roleRef },
    last_login: nullableTime,
    login_count: { type: ["integer", "null"], readOnly: true },
    failed_login_count: { type: ["integer", "null"], readOnly: true },
    created_on: nullableTime,
    changed_on: nullableTime,
  },
  required: ["username"],
};

/** FAB's User body: the profile, one role (Updraft gives each user one), a password. */
const USER_BODY: Json = {
  type: "object",
  properties: {
    username: text,
    email: { type: ["string", "null"] },
    first_name: { type: ["string", "null"] },
    last_name: { type: ["string", "null"] },
    roles: { type: "array", items: roleRef, minItems: 1, maxItems: 1 },
    password: { type: "string", minLength: 1, writeOnly: true },
    active: { type: "boolean" },
  },
};
const CREATE_BODY: Json = { ...USER_BODY, required: ["username", "password", "roles"] };

const USER_LIST: Json = {
  type: "object",
  properties: { users: { type: "array", items: USER_SCHEMA }, total_entries: { type: "integer" } },
  required: ["users", "total_entries"],
};
const ROLE_LIST: Json = {
  type: "object",
  properties: {
    roles: {
      type: "array",
      items: {
        type: "object",
        properties: { name: { type: "string" }, actions: { type: "array", items: { type: "object" } } },
        required: ["name"],
      },
    },
    total_entries: { type: "integer" },
  },
  required: ["roles", "total_entries"],
};

const LIST_QUERY = {
  type: "object",
  properties: {
    limit: { type: "integer", minimum: 0, default: 100 },
    offset: { type: "integer", minimum: 0, default: 0 },
    order_by: { type: "string" },
  },
  required: [],
};
const USERNAME_PATH = {
  type: "object",
  properties: { username: { type: "string" } },
  required: ["username"],
};
const PATCH_QUERY = {
  type: "object",
  properties: { update_mask: { type: "array", items: { type: "string" } } },
  required: [],
};

interface Described {
  op: Operation;
  summary: string;
  response: { status: string; schema?: Json };
}

const described = (
  operationId: string,
  method: Operation["method"],
  path: string,
  summary: string,
  parts: Partial<Pick<Operation, "querystring" | "params" | "body">>,
  response: Described["response"],
): Described => ({
  op: {
    operationId,
    method,
    path: `${BASE}${path}`,
    url: `${BASE}${path}`.replace(/\{(\w+)\}/g, ":$1"),
    ...parts,
    bodyRequired: parts.body !== undefined,
    statuses: [response.status, "400", "401", "403", "404", "409", "422"],
    tag: TAG,
  },
  summary,
  response,
});

const DESCRIBED: Described[] = [
  described(
    "get_users",
    "GET",
    "/users",
    "List users",
    { querystring: LIST_QUERY },
    {
      status: "200",
      schema: USER_LIST,
    },
  ),
  described(
    "post_user",
    "POST",
    "/users",
    "Create a user",
    { body: CREATE_BODY },
    {
      status: "200",
      schema: USER_SCHEMA,
    },
  ),
  described(
    "get_user",
    "GET",
    "/users/{username}",
    "Get a user",
    { params: USERNAME_PATH },
    {
      status: "200",
      schema: USER_SCHEMA,
    },
  ),
  described(
    "patch_user",
    "PATCH",
    "/users/{username}",
    "Update a user (role, profile, password, active); update_mask names the fields to change",
    { params: USERNAME_PATH, querystring: PATCH_QUERY, body: USER_BODY },
    { status: "200", schema: USER_SCHEMA },
  ),
  described(
    "delete_user",
    "DELETE",
    "/users/{username}",
    "Delete a user",
    { params: USERNAME_PATH },
    {
      status: "204",
    },
  ),
  described(
    "get_roles",
    "GET",
    "/roles",
    "List roles",
    { querystring: LIST_QUERY },
    {
      status: "200",
      schema: ROLE_LIST,
    },
  ),
];

/** The users and roles operations as OpenAPI paths, for the served document. */
export function usersApiPaths(): Record<string, Record<string, Json>> {
  const paths: Record<string, Record<string, Json>> = {};
  for (const { op, summary, response } of DESCRIBED) {
    const parameters = [
      ...Object.entries((op.params?.properties ?? {}) as Json).map(([name, schema]) => ({
        name,
        in: "path",
        required: true,
        schema,
      })),
      ...Object.entries((op.querystring?.properties ?? {}) as Json).map(([name, schema]) => ({
        name,
        in: "query",
        required: false,
        schema,
      })),
    ];
    (paths[op.path] ??= {})[op.method.toLowerCase()] = {
      tags: ["User (FAB auth manager)"],
      summary,
      description: "Admin role only. Airflow 3's FAB auth manager API.",
      operationId: op.operationId,
      security: [{ OAuth2PasswordBearer: [] }, { HTTPBearer: [] }],
      ...(parameters.length ? { parameters } : {}),
      ...(op.body
        ? { requestBody: { required: true, content: { "application/json": { schema: op.body } } } }
        : {}),
      responses: {
        [response.status]: response.schema
          ? {
              description: "Successful Response",
              content: { "application/json": { schema: response.schema } },
            }
          : { description: "Successful Response" },
        "401": { description: "Unauthorized" },
        "403": { description: "Forbidden (not an Admin)" },
        ...(op.path.includes("{username}") ? { "404": { description: "Not Found" } } : {}),
        ...(op.method === "POST" ? { "409": { description: "Conflict (the user exists)" } } : {}),
        "422": { description: "Validation Error" },
      },
    };
  }
  return paths;
}

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
  const known = operations();
  for (const { op } of DESCRIBED) known.set(op.operationId, op);
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
      const row = await users().update(username, {
        ...(has("roles") ? { role: roleOf(body)! } : {}),
        ...(has("email") ? { email: body.email ?? null } : {}),
        ...(has("first_name") ? { firstName: body.first_name ?? null } : {}),
        ...(has("last_name") ? { lastName: body.last_name ?? null } : {}),
        ...(has("active") ? { active: body.active! } : {}),
      });
      if (has("password")) await users().setPassword(username, await hashPassword(body.password!));
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
