/**
 * The operations of Airflow 3's UI API (its private `/ui` routes) that Updraft serves beside the
 * public one: a DAG's structure for the graph and the grid, task groups included, which the public
 * task list does not describe (Airflow's shapes: StructureDataResponse, NodeResponse, EdgeResponse);
 * who is signed in (`/ui/auth/me`); a run's DAG callbacks and deadlines (Updraft's own); and a DAG's
 * runs counted per day and state for the calendar (`/ui/calendar/{dag_id}`, Airflow 3.1's).
 * Served in the same document and taken by `ctx.route` like every other operation. Handlers:
 * routes/structure.ts, routes/dag-run-callbacks.ts, routes/calendar.ts.
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

const CALLBACK_REQUEST: Json = {
  type: "object",
  title: "DagRunCallbackResponse",
  description:
    "A DAG callback the run asked for (its success or failure, a missed deadline), run by a triggerer: queued, running, then success or failed (with the error).",
  properties: {
    id: { type: "integer" },
    event: { type: "string", enum: ["dag_success", "dag_failure", "deadline_missed"] },
    state: { type: "string", enum: ["queued", "running", "success", "failed"] },
    reason: nullable({ type: "string" }),
    task_id: nullable({ type: "string" }),
    deadline_index: nullable({ type: "integer" }),
    attempts: { type: "integer" },
    error: nullable({ type: "string" }),
    created_at: { type: "string", format: "date-time" },
    finished_at: nullable({ type: "string", format: "date-time" }),
  },
  required: ["id", "event", "state", "reason", "attempts", "error", "created_at", "finished_at"],
};

const DEADLINE: Json = {
  type: "object",
  title: "DagRunDeadlineResponse",
  description:
    "A deadline of the run (Airflow 3.1's DeadlineAlert): `pending` until its time, then `missed` (the run was unfinished) or `met`.",
  properties: {
    index: { type: "integer" },
    reference: nullable({ type: "string", enum: ["logical_date", "queued_at", "fixed_datetime"] }),
    interval: nullable({ type: "number", description: "Seconds after the reference." }),
    deadline_time: { type: "string", format: "date-time" },
    status: { type: "string", enum: ["pending", "met", "missed"] },
    handled_at: nullable({ type: "string", format: "date-time" }),
  },
  required: ["index", "deadline_time", "status", "handled_at"],
};

/** Schemas the operation refers to, added to the document's components (nodes nest, so by reference). */
export function uiApiSchemas(): Record<string, Json> {
  return {
    StructureNodeResponse: NODE,
    StructureEdgeResponse: EDGE,
    DagRunCallbackResponse: CALLBACK_REQUEST,
    DagRunDeadlineResponse: DEADLINE,
  };
}

const CALLBACKS_RESPONSE: Json = {
  type: "object",
  title: "DagRunCallbacksResponse",
  properties: {
    callbacks: { type: "array", items: { $ref: "#/components/schemas/DagRunCallbackResponse" } },
    deadlines: { type: "array", items: { $ref: "#/components/schemas/DagRunDeadlineResponse" } },
  },
  required: ["callbacks", "deadlines"],
};

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

const CALENDAR_RESPONSE: Json = {
  type: "object",
  title: "CalendarTimeRangeCollectionResponse",
  properties: {
    total_entries: { type: "integer" },
    dag_runs: {
      type: "array",
      items: {
        type: "object",
        title: "CalendarTimeRangeResponse",
        properties: {
          date: { type: "string", description: "The day (YYYY-MM-DD) or hour (YYYY-MM-DDTHH:00:00Z), UTC." },
          state: { type: "string" },
          count: { type: "integer" },
        },
        required: ["date", "state", "count"],
      },
    },
  },
  required: ["total_entries", "dag_runs"],
};

export function uiApiPaths(): Record<string, Record<string, Json>> {
  return {
    "/ui/calendar/{dag_id}": {
      get: {
        tags: ["Calendar"],
        summary: "Get Calendar",
        description:
          "Airflow 3.1's UI API. The DAG's runs counted per day (or hour) of their logical date (run_after for runs without one) and state, in UTC, between logical_date_gte and logical_date_lte: the calendar view. Counted by the database, so a year of runs is one small answer.",
        operationId: "get_calendar",
        security: [{ OAuth2PasswordBearer: [] }, { HTTPBearer: [] }],
        parameters: [
          { name: "dag_id", in: "path", required: true, schema: { type: "string", title: "Dag Id" } },
          {
            name: "granularity",
            in: "query",
            required: false,
            schema: { type: "string", enum: ["hourly", "daily"], default: "daily" },
          },
          {
            name: "logical_date_gte",
            in: "query",
            required: false,
            schema: nullable({ type: "string", format: "date-time" }),
          },
          {
            name: "logical_date_lte",
            in: "query",
            required: false,
            schema: nullable({ type: "string", format: "date-time" }),
          },
        ],
        responses: {
          "200": {
            description: "Successful Response",
            content: { "application/json": { schema: CALENDAR_RESPONSE } },
          },
          "401": { description: "Unauthorized" },
          "403": { description: "Forbidden" },
          "404": { description: "Not Found" },
          "422": { description: "Validation Error" },
        },
      },
    },
    "/ui/dags/{dag_id}/dagRuns/{dag_run_id}/callbacks": {
      get: {
        tags: ["DagRun"],
        summary: "Dag Run Callbacks",
        description:
          "Updraft's UI API. The run's DAG callbacks (onSuccess, onFailure, a missed deadline's callback) with their outcome, and its deadlines, met or missed. Callbacks run in a triggerer.",
        operationId: "get_dag_run_callbacks",
        security: [{ OAuth2PasswordBearer: [] }, { HTTPBearer: [] }],
        parameters: [
          { name: "dag_id", in: "path", required: true, schema: { type: "string", title: "Dag Id" } },
          {
            name: "dag_run_id",
            in: "path",
            required: true,
            schema: { type: "string", title: "Dag Run Id" },
          },
        ],
        responses: {
          "200": {
            description: "Successful Response",
            content: { "application/json": { schema: CALLBACKS_RESPONSE } },
          },
          "401": { description: "Unauthorized" },
          "403": { description: "Forbidden" },
          "404": { description: "Not Found" },
          "422": { description: "Validation Error" },
        },
      },
    },
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
