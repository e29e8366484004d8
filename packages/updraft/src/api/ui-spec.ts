/**
 * The operations of Airflow 3's UI API (its private `/ui` routes) that Updraft serves beside the
 * public one: a DAG's structure for the graph and the grid, task groups included, which the public
 * task list does not describe; and who is signed in (`/ui/auth/me`). The shapes are Airflow's (StructureDataResponse, NodeResponse,
 * EdgeResponse). Served in the same document and taken by `ctx.route` like every other operation.
 * Handlers: routes/structure.ts.
 */
type Json = Record<string, unknown>;

const nullable = (schema: Json): Json => ({ anyOf: [schema, { type: "null" }] });

const NODE: Json = {
  type: "object",
  title: "NodeResponse",
  description: "A task, a task group (with children) or a group's join node.",
  properties: {
    id: { type: "string" },
    label: { type: "string" },
    type: {
      type: "string",
      enum: [
        "join",
        "task",
        "asset-condition",
        "asset",
        "asset-alias",
        "asset-name-ref",
        "asset-uri-ref",
        "dag",
        "sensor",
        "trigger",
      ],
    },
    children: nullable({ type: "array", items: { $ref: "#/components/schemas/StructureNodeResponse" } }),
    is_mapped: nullable({ type: "boolean" }),
    tooltip: nullable({ type: "string" }),
    setup_teardown_type: nullable({ type: "string", enum: ["setup", "teardown"] }),
    operator: nullable({ type: "string" }),
    asset_condition_type: nullable({ type: "string", enum: ["or-gate", "and-gate"] }),
    ui_color: nullable({ type: "string" }),
    ui_fgcolor: nullable({ type: "string" }),
  },
  required: ["id", "label", "type"],
};

const EDGE: Json = {
  type: "object",
  title: "EdgeResponse",
  properties: {
    source_id: { type: "string" },
    target_id: { type: "string" },
    is_setup_teardown: nullable({ type: "boolean" }),
    label: nullable({ type: "string" }),
    is_source_asset: nullable({ type: "boolean" }),
  },
  required: ["source_id", "target_id"],
};

/** Schemas the operation refers to, added to the document's components (nodes nest, so by reference). */
export function uiApiSchemas(): Record<string, Json> {
  return { StructureNodeResponse: NODE, StructureEdgeResponse: EDGE };
}

const RESPONSE: Json = {
  type: "object",
  title: "StructureDataResponse",
  properties: {
    edges: { type: "array", items: { $ref: "#/components/schemas/StructureEdgeResponse" } },
    nodes: { type: "array", items: { $ref: "#/components/schemas/StructureNodeResponse" } },
  },
  required: ["edges", "nodes"],
};

/** Airflow's AuthenticatedMeResponse (`id`, `username`), with the role Updraft's UI shows actions by. */
const ME: Json = {
  type: "object",
  title: "AuthenticatedMeResponse",
  properties: {
    id: { type: "string" },
    username: { type: "string" },
    role: { type: "string", enum: ["Admin", "Op", "User", "Viewer"] },
  },
  required: ["id", "username", "role"],
};

export function uiApiPaths(): Record<string, Record<string, Json>> {
  return {
    "/ui/auth/me": {
      get: {
        tags: ["Auth"],
        summary: "Get Current User Info",
        description:
          "Airflow 3's UI API. Who is signed in (the session cookie or the bearer token) and with which role: the web UI asks in every tab instead of remembering the login, and hides the actions the role may not take (the server still decides). 401 when not signed in.",
        operationId: "get_current_user_info",
        security: [{ OAuth2PasswordBearer: [] }, { HTTPBearer: [] }],
        responses: {
          "200": { description: "Successful Response", content: { "application/json": { schema: ME } } },
          "401": { description: "Unauthorized" },
        },
      },
    },
    "/ui/structure/structure_data": {
      get: {
        tags: ["Structure"],
        summary: "Structure Data",
        description:
          "Airflow 3's UI API. The DAG's tasks and task groups as a tree (a group's `children`), and the edges between them; a dependency set on a group as a whole goes through the group's join nodes, as in Airflow.",
        operationId: "structure_data",
        security: [{ OAuth2PasswordBearer: [] }, { HTTPBearer: [] }],
        parameters: [
          { name: "dag_id", in: "query", required: true, schema: { type: "string", title: "Dag Id" } },
          {
            name: "version_number",
            in: "query",
            required: false,
            schema: nullable({ type: "integer" }),
          },
        ],
        responses: {
          "200": {
            description: "Successful Response",
            content: { "application/json": { schema: RESPONSE } },
          },
          "401": { description: "Unauthorized" },
          "403": { description: "Forbidden" },
          "404": { description: "Not Found" },
          "422": { description: "Validation Error" },
        },
      },
    },
  };
}
