/**
 * The users and roles operations of Airflow 3's FAB auth manager API (/auth/fab/v1), described as
 * OpenAPI paths. Airflow's public spec has none, so Updraft adds these to the document it serves;
 * `operations()` in spec.ts reads them from there like every other operation, so they get the same
 * validation, authentication, CSRF check and error shapes. Handlers: routes/users.ts.
 */
import type { Operation } from "./spec.ts";

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

const STATUS_TEXT: Record<string, string> = {
  "400": "Bad Request",
  "401": "Unauthorized",
  "403": "Forbidden (not an Admin)",
  "404": "Not Found",
  "409": "Conflict (the user exists)",
  "422": "Validation Error",
};

/** The users and roles operations as OpenAPI paths, for the served document and `operations()`. */
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
      tags: [TAG],
      summary,
      description: "Admin role only. Airflow 3's FAB auth manager API.",
      operationId: op.operationId,
      security: [{ OAuth2PasswordBearer: [] }, { HTTPBearer: [] }],
      ...(parameters.length ? { parameters } : {}),
      ...(op.body
        ? { requestBody: { required: true, content: { "application/json": { schema: op.body } } } }
        : {}),
      responses: Object.fromEntries(
        op.statuses.map((status) => [
          status,
          status === response.status && response.schema
            ? {
                description: "Successful Response",
                content: { "application/json": { schema: response.schema } },
              }
            : { description: STATUS_TEXT[status] ?? "Successful Response" },
        ]),
      ),
    };
  }
  return paths;
}
