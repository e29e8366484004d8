/**
 * The contract: Airflow 3's public REST API specification (OpenAPI 3.1), shipped in openapi/. Routes
 * take their method, path, parameter and body schemas from it by operation id, so Updraft's API cannot
 * drift from Airflow's; tests validate every response against the same document.
 */
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { uiApiPaths, uiApiSchemas } from "./ui-spec.ts";
import { usersApiPaths } from "./users-spec.ts";
import { workersApiPaths } from "./workers-spec.ts";

export const SPEC_FILE = new URL("../../openapi/airflow-public-api-v2.yaml", import.meta.url);

type Json = Record<string, unknown>;

export interface OpenApiDocument {
  openapi: string;
  info: Json;
  paths: Record<string, Record<string, Json>>;
  components: { schemas: Record<string, Json>; securitySchemes?: Json };
  [key: string]: unknown;
}

export interface Operation {
  operationId: string;
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** As in the spec: /api/v2/dags/{dag_id}. */
  path: string;
  /** As Fastify writes it: /api/v2/dags/:dag_id. */
  url: string;
  /** JSON schemas (references resolved) for Fastify's request validation. */
  querystring?: Json;
  params?: Json;
  body?: Json;
  bodyRequired: boolean;
  /** Status codes the spec lists, as strings. */
  statuses: string[];
  tag: string;
}

let cached: OpenApiDocument | null = null;

/** Airflow's document, with the schemas of the UI operation Updraft serves too (ui-spec.ts). */
export function loadSpec(): OpenApiDocument {
  if (cached) return cached;
  const spec = parse(readFileSync(SPEC_FILE, "utf8")) as OpenApiDocument;
  Object.assign(spec.components.schemas, uiApiSchemas());
  return (cached = spec);
}

/** Every path served: Airflow's public ones, its FAB users API, Updraft's workers, and the UI's structure. */
export function allPaths(): Record<string, Record<string, Json>> {
  return { ...loadSpec().paths, ...usersApiPaths(), ...workersApiPaths(), ...uiApiPaths() };
}

/**
 * The document Updraft serves at /api/v2/openapi.json: Airflow's, under Updraft's title, plus the
 * users and roles operations of Airflow's FAB auth manager API (routes/users.ts).
 */
export function servedSpec(version: string): OpenApiDocument {
  const spec = loadSpec();
  return {
    ...spec,
    paths: allPaths(),
    info: {
      ...spec.info,
      title: "Updraft API",
      version,
      description:
        "Updraft serves Airflow 3's public REST API at /api/v2: same paths, parameters, fields, pagination and errors. Get a token with POST /auth/token {username, password} and send it as `Authorization: Bearer <token>`.",
    },
  };
}

const METHODS = ["get", "post", "put", "patch", "delete"] as const;
let byId: Map<string, Operation> | null = null;

export function operations(): Map<string, Operation> {
  if (byId) return byId;
  const spec = loadSpec();
  byId = new Map();
  for (const [path, item] of Object.entries(allPaths())) {
    for (const method of METHODS) {
      const op = item[method] as Json | undefined;
      if (!op) continue;
      const parameters = (op.parameters ?? []) as Json[];
      const group = (where: string) => {
        const list = parameters.filter((p) => p.in === where);
        if (list.length === 0) return undefined;
        return {
          type: "object",
          properties: Object.fromEntries(
            list.map((p) => [p.name, bounded(p.name as string, resolve(p.schema as Json, spec))]),
          ),
          required: list.filter((p) => p.required).map((p) => p.name as string),
        };
      };
      const requestBody = op.requestBody as Json | undefined;
      const content = requestBody?.content as Record<string, { schema: Json }> | undefined;
      const operationId = op.operationId as string;
      byId.set(operationId, {
        operationId,
        method: method.toUpperCase() as Operation["method"],
        path,
        url: path.replace(/\{(\w+)\}/g, ":$1"),
        querystring: group("query"),
        params: group("path"),
        body: content?.["application/json"] ? resolve(content["application/json"].schema, spec) : undefined,
        bodyRequired: requestBody?.required === true,
        statuses: Object.keys((op.responses ?? {}) as Json),
        tag: ((op.tags as string[] | undefined) ?? ["other"])[0]!,
      });
    }
  }
  return byId;
}

/** The largest limit or offset a list takes: past it a database errors out (1e20) or it is Infinity (1e309). */
export const MAX_PAGE_NUMBER = 2 ** 31 - 1;

/** A page's limit and offset get an upper bound the spec leaves out, so a huge one is a 422. */
function bounded(name: string, schema: Json): Json {
  return name === "limit" || name === "offset" ? { ...schema, maximum: MAX_PAGE_NUMBER } : schema;
}

export function operation(operationId: string): Operation {
  const op = operations().get(operationId);
  if (!op) throw new Error(`the API specification has no operation "${operationId}"`);
  return op;
}

/** Inlines `#/components/schemas/...` references (a recursive schema is cut to "any JSON"). */
export function resolve(schema: Json, spec: OpenApiDocument, seen: string[] = []): Json {
  if (Array.isArray(schema)) return schema.map((s) => resolve(s as Json, spec, seen)) as never;
  if (!schema || typeof schema !== "object") return schema;
  const ref = schema.$ref;
  if (typeof ref === "string") {
    const name = ref.replace("#/components/schemas/", "");
    if (seen.includes(name)) return {};
    return resolve(spec.components.schemas[name]!, spec, [...seen, name]);
  }
  return Object.fromEntries(
    Object.entries(schema).map(([k, v]) => [
      k,
      // Property names are data, not schemas: recurse into the values only.
      k === "properties"
        ? Object.fromEntries(Object.entries(v as Json).map(([p, s]) => [p, resolve(s as Json, spec, seen)]))
        : typeof v === "object" && v !== null
          ? resolve(v as Json, spec, seen)
          : v,
    ]),
  );
}
