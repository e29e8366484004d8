/**
 * Updraft's own operation for distributed installations: the workers and their queues (Airflow's
 * public API has no such list; its Edge executor serves one of its own). Served in the same document
 * and taken by `ctx.route` like every other operation. Handler: routes/workers.ts.
 */
type Json = Record<string, unknown>;

const TRY = {
  type: "object",
  properties: {
    dag_id: { type: "string" },
    run_id: { type: "string" },
    task_id: { type: "string" },
    map_index: { type: "integer" },
    try_number: { type: "integer" },
  },
};

const WORKER: Json = {
  type: "object",
  properties: {
    worker_id: { type: "string" },
    hostname: { type: "string" },
    state: { type: "string", enum: ["running", "stopping", "dead"] },
    alive: { type: "boolean" },
    queues: { type: "array", items: { type: "string" } },
    concurrency: { type: "integer" },
    pid: { type: "integer" },
    version: { type: "string" },
    started_at: { type: "string", format: "date-time" },
    last_heartbeat: { type: "string", format: "date-time" },
    running_tries: { type: "array", items: TRY },
  },
};

const RESPONSE: Json = {
  type: "object",
  properties: {
    executor: { type: "string" },
    workers: { type: "array", items: WORKER },
    queues: {
      type: "array",
      items: {
        type: "object",
        properties: {
          queue: { type: "string" },
          waiting: { type: "integer" },
          active: { type: "integer" },
          delayed: { type: "integer" },
          failed: { type: "integer" },
        },
      },
    },
    total_entries: { type: "integer" },
  },
  required: ["executor", "workers", "queues", "total_entries"],
};

export function workersApiPaths(): Record<string, Record<string, Json>> {
  return {
    "/api/v2/workers": {
      get: {
        tags: ["Worker"],
        summary: "List workers",
        description:
          "Updraft extension. The workers of a distributed installation ([core] executor = bullmq), as they report themselves through Redis: hostname, queues, concurrency, last heartbeat and the tries they run; and each queue's depth. Empty with the local executor.",
        operationId: "get_workers",
        security: [{ OAuth2PasswordBearer: [] }, { HTTPBearer: [] }],
        responses: {
          "200": {
            description: "Successful Response",
            content: { "application/json": { schema: RESPONSE } },
          },
          "401": { description: "Unauthorized" },
          "403": { description: "Forbidden" },
          "503": { description: "Redis unreachable" },
        },
      },
    },
  };
}
