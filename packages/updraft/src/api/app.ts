/**
 * The webserver's HTTP application: Airflow's public REST API at /api/v2 (routes/), tokens at
 * /auth/token, the OpenAPI document and its interactive docs, health and metrics. Stateless: it reads
 * and writes the database and reads task logs; it never loads DAG code.
 */
import { dagRunAccess } from "../operations/trigger-run.ts";
import type { Socket } from "node:net";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import cookie from "@fastify/cookie";
import fastifyStatic from "@fastify/static";
import cors from "@fastify/cors";
import helmet from "@fastify/helmet";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from "fastify";
import { Ajv } from "ajv";
import addFormats from "ajv-formats";
import { Histogram } from "prom-client";
import type { Config } from "../config/load.ts";
import { bearerMatches, createRegistry } from "../metrics/metrics.ts";
import type { Logger } from "../logging.ts";
import { readOffThread } from "../storage/read-threads.ts";
import type { SecretCipher } from "../secrets/cipher.ts";
import type { Database } from "../storage/database.ts";
import { recordAudit } from "../storage/audit-log.ts";
import { nowIso } from "../storage/database.ts";
import type { Role } from "../storage/users.ts";
import { VERSION } from "../version.ts";
import { allows, needOf } from "./auth/roles.ts";
import { Sessions } from "./auth/sessions.ts";
import { signingKey, tokenIssuer, type TokenIssuer } from "./auth/tokens.ts";
import { DATABASE_UNREACHABLE, errorResponse, HttpError, unavailable, type ErrorResponse } from "./errors.ts";
import type { operations as Ops } from "./generated/airflow-v2.ts";
import { registerAuthRoutes, SESSION_COOKIE, CSRF_COOKIE, CSRF_HEADER } from "./routes/auth.ts";
import { ROUTE_GROUPS } from "./routes/index.ts";
import { EXECUTION_PREFIX, registerExecutionApi } from "./execution.ts";
import type { LogFolder } from "../logs/folder.ts";
import { createTaskRunnerDeps } from "../scheduler/runtime.ts";
import { DistributedHealth } from "../executor/bullmq/health.ts";
import { distributedMetrics } from "../metrics/metrics.ts";
import { operation, servedSpec } from "./spec.ts";
import { hookMeta } from "../connections/types.ts";
import { allConnectionTypes } from "../providers/providers.ts";

export interface ApiOptions {
  config: Config;
  /** The logs folder's cap, for the logs workers upload through the Task Execution API. */
  logFolder?: LogFolder;
  database: Database;
  log: Logger;
  cipher?: SecretCipher;
  /** Test hook: a fixed clock for tokens and audit rows. */
  clock?: () => number;
  /**
   * Called after every change the API accepts (a 2xx answer to anything but a read). In `standalone`
   * it pokes the scheduler in the same process, so a triggered or cleared run starts at once instead
   * of on the next loop.
   */
  onChange?: () => void;
}

export interface ApiUser {
  username: string;
  role: Role;
}

/** What a handler gets: the request's validated parts (typed from the spec) and who asks. */
export interface ApiRequest<Op extends keyof Ops> {
  params: PathOf<Op>;
  query: QueryOf<Op>;
  body: BodyOf<Op>;
  user: ApiUser;
  raw: FastifyRequest;
  reply: FastifyReply;
}

type PathOf<Op extends keyof Ops> = Ops[Op]["parameters"] extends { path: infer P }
  ? P
  : Record<string, never>;
type QueryOf<Op extends keyof Ops> = Ops[Op]["parameters"] extends { query?: infer Q }
  ? NonNullable<Q>
  : Record<string, never>;
type BodyOf<Op extends keyof Ops> = Ops[Op] extends {
  requestBody: { content: { "application/json": infer B } };
}
  ? B
  : Ops[Op] extends { requestBody?: { content: { "application/json": infer B } } }
    ? B | undefined
    : undefined;
type SuccessOf<Op extends keyof Ops> =
  Ops[Op]["responses"] extends Record<200, { content: { "application/json": infer R } }>
    ? R
    : Ops[Op]["responses"] extends Record<201, { content: { "application/json": infer R } }>
      ? R
      : unknown;

export interface ApiContext {
  database: Database;
  config: Config;
  log: Logger;
  cipher?: SecretCipher;
  tokens: TokenIssuer;
  /** Whether a token's session still stands; `forget` after changing a user. */
  sessions: Sessions;
  /** Workers and queues of a distributed installation, from Redis. */
  distributed: DistributedHealth;
  now(): string;
  /** Registers the handler of one of the spec's operations; method, path and schemas come from it. */
  route<Op extends keyof Ops>(
    operationId: Op,
    handler: (request: ApiRequest<Op>) => Promise<SuccessOf<Op> | null | void>,
    options?: { status?: number },
  ): void;
  /** Records a change in the audit log (event logs): who, what, when, from where. */
  audit(request: FastifyRequest, event: string, what?: AuditTarget): Promise<void>;
}

export interface AuditTarget {
  dagId?: string | null;
  taskId?: string | null;
  runId?: string | null;
  mapIndex?: number | null;
  tryNumber?: number | null;
  extra?: Record<string, unknown>;
}

declare module "fastify" {
  interface FastifyRequest {
    user?: ApiUser;
  }
}

export async function buildApi(o: ApiOptions): Promise<FastifyInstance> {
  const api = o.config.values.api;
  const app = Fastify({
    // Fastify's own per-request lines stay out of the service log; failures are logged below.
    loggerInstance: o.log.child({}, { level: "warn" }) as unknown as FastifyBaseLogger,
    // Only the configured proxies may say who the client is (X-Forwarded-For): anyone else would
    // write any address they like into the audit log.
    trustProxy: trustedProxies(api.trusted_proxies),
    // Ids may be 250 characters (more once percent-encoded); Fastify's default of 100 cut them off.
    routerOptions: { maxParamLength: 2000 },
    // Errors Fastify answers before any route (a malformed URL) in the API's {"detail": ...} shape.
    frameworkErrors: (error, _request, reply) => {
      void (reply as FastifyReply).code(400).send({ detail: `Bad request: ${error.message}` });
    },
    clientErrorHandler: answerClientError,
  });

  // The spec's schemas are OpenAPI 3.1 (JSON Schema 2020-12 with examples, titles, ...). Query and path
  // parameters arrive as text and are coerced to the schema's types; JSON bodies are not coerced (a
  // null must stay null, not become "" or 0).
  const ajvFor = (coerceTypes: "array" | false) => {
    const ajv = new Ajv({ strict: false, coerceTypes, useDefaults: true, removeAdditional: false });
    (addFormats as unknown as (a: Ajv) => Ajv)(ajv);
    return ajv;
  };
  const coercing = ajvFor("array");
  const exact = ajvFor(false);
  app.setValidatorCompiler(({ schema, httpPart }) =>
    (httpPart === "body" ? exact : coercing).compile(schema),
  );
  const tokens = tokenIssuer(
    signingKey(api.secret_key, o.config.values.security.encryption_key),
    api.token_expiration,
  );
  const now = () => nowIso(o.clock);
  const sessions = new Sessions(o.database);

  await app.register(helmet, {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        // The UI has no inline script; an injected one must not run.
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", "data:"],
      },
    },
  });
  await app.register(cookie);
  const origins = api.cors_origins
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (origins.length > 0) await app.register(cors, { origin: origins, credentials: true });

  const answer = (reply: FastifyReply, { status, body, headers }: ErrorResponse) =>
    reply
      .code(status)
      .headers(headers ?? {})
      .send(body);
  app.setErrorHandler((error, request, reply) => {
    const response = errorResponse(error);
    // A 503 is an outage the service log already reports once; a line per request would drown it.
    if (response.status >= 500 && response.status !== 503)
      request.log.error({ err: error, url: request.url }, "API request failed");
    void answer(reply, response);
  });
  // A request's SQLite reads go to reader threads: a slow list stalls neither other requests nor, in
  // `standalone`, the scheduler (storage/read-threads.ts). Registered first, so all that follows runs so.
  app.addHook("onRequest", (_request, _reply, done) => readOffThread(() => done()));
  // While the database is known to be away, requests that need it get their 503 at once instead of
  // each waiting for a connection that will not come (in a network partition, for minutes). Health,
  // version and the docs still answer; the database's own probes end this state.
  app.addHook("onRequest", async (request, reply) => {
    if (o.database.health.reachable || !needsDatabase(request.url)) return;
    return answer(reply, unavailable(DATABASE_UNREACHABLE));
  });
  // The UI (packages/ui, built into ui-dist/) at /; any other page path is the UI's (it routes itself).
  // UPDRAFT_UI_DIR points at another build (UI development, parallel browser tests).
  const ui = process.env.UPDRAFT_UI_DIR
    ? resolve(process.env.UPDRAFT_UI_DIR)
    : fileURLToPath(new URL("../../ui-dist/", import.meta.url));
  const hasUi = existsSync(join(ui, "index.html"));
  if (hasUi) await app.register(fastifyStatic, { root: ui, prefix: "/", index: ["index.html"] });
  else
    app.get("/", async (_request, reply) =>
      reply
        .type("text/html")
        .send(
          "<!doctype html><title>Updraft</title><p>The web UI is not built: run <code>npm run build</code> in the repository. The REST API is at <a href=/api/v2/docs>/api/v2/docs</a>.</p>",
        ),
    );
  app.setNotFoundHandler((request, reply) => {
    const page = request.method === "GET" && !/^\/(api|auth|metrics)(\/|$)/.test(request.url);
    if (page && hasUi) return reply.sendFile("index.html");
    return reply.code(404).send({ detail: "Not Found" });
  });

  /** Bearer token, or the UI's session cookie (then unsafe methods need the CSRF header too). */
  async function authenticate(request: FastifyRequest): Promise<ApiUser> {
    const header = request.headers.authorization;
    if (header?.startsWith("Bearer ")) {
      const claims = await tokens.verify(header.slice(7).trim());
      if (claims) return sessions.check(claims);
      throw new HttpError(401, "Invalid or expired token: get a new one from POST /auth/token");
    }
    const session = request.cookies[SESSION_COOKIE];
    if (session) {
      const claims = await tokens.verify(session);
      if (!claims) throw new HttpError(401, "Your session expired: log in again");
      if (!["GET", "HEAD", "OPTIONS"].includes(request.method)) {
        const sent = request.headers[CSRF_HEADER];
        if (!sent || sent !== request.cookies[CSRF_COOKIE])
          throw new HttpError(403, `Missing or wrong ${CSRF_HEADER} header (CSRF protection)`);
      }
      return sessions.check(claims);
    }
    throw new HttpError(401, "Not authenticated: send `Authorization: Bearer <token>` (POST /auth/token)");
  }

  // The UI's own settings (Airflow 3's private /ui/config): what it shows, for any signed-in user.
  app.get("/ui/config", async (request) => {
    await authenticate(request);
    return { test_connection: o.config.values.core.test_connection };
  });

  // Airflow 3's private /ui/connections/hook_meta: the connection types the form follows.
  app.get("/ui/connections/hook_meta", async (request) => {
    await authenticate(request);
    const types = await allConnectionTypes(o.config.values.core.dags_folder);
    return types.map(hookMeta);
  });

  const distributed = new DistributedHealth(o.config, o.log);
  app.addHook("onClose", () => distributed.close());
  const context: ApiContext = {
    distributed,
    database: o.database,
    config: o.config,
    log: o.log,
    cipher: o.cipher,
    tokens,
    sessions,
    now,
    route(operationId, handler, options = {}) {
      const op = operation(operationId);
      const need = needOf(op);
      app.route({
        method: op.method,
        url: op.url,
        schema: {
          ...(op.querystring ? { querystring: op.querystring } : {}),
          ...(op.params ? { params: op.params } : {}),
          ...(op.body ? { body: op.body } : {}),
        },
        // Who asks is settled before the request is validated: a stranger gets 401, not the schema.
        preValidation: async (request) => {
          let user: ApiUser = { username: "anonymous", role: "Viewer" };
          if (need !== "open") {
            user = await authenticate(request);
            if (!allows(user.role, need))
              throw new HttpError(403, `Your role (${user.role}) may not do this (${op.operationId})`);
          }
          request.user = user;
          // Before the schema sees it: what no database or serializer copes with is a 422 here.
          const problem =
            unsafeInput(request.params, "path") ??
            unsafeInput(request.query, "query") ??
            unsafeInput(request.body, "body");
          if (problem) throw new HttpError(422, [problem]);
        },
        handler: async (request, reply) => {
          const user = request.user!;
          const result = await handler({
            params: request.params as never,
            query: (request.query ?? {}) as never,
            body: request.body as never,
            user,
            raw: request,
            reply,
          });
          if (reply.sent) return reply;
          if (result === undefined || result === null) {
            void reply.code(options.status ?? 204);
            return reply.send();
          }
          void reply.code(options.status ?? 200);
          return result;
        },
      });
    },
    async audit(request, event, what = {}) {
      await recordAudit(
        o.database,
        {
          event,
          owner: request.user?.username ?? "anonymous",
          dagId: what.dagId,
          taskId: what.taskId,
          runId: what.runId,
          mapIndex: what.mapIndex,
          tryNumber: what.tryNumber,
          extra: { ip: request.ip, method: request.method, path: request.url, ...what.extra },
        },
        now(),
      );
    },
  };

  const registry = createRegistry(o.database, "webserver");
  if (distributed.enabled) distributedMetrics(registry, distributed);
  const requestSeconds = new Histogram({
    name: "updraft_http_request_seconds",
    help: "Webserver requests by route and status",
    labelNames: ["method", "route", "status"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    registers: [registry],
  });
  app.addHook("onResponse", async (request, reply) => {
    const route = request.routeOptions.url ?? "unknown";
    if (o.onChange && request.method !== "GET" && reply.statusCode < 300 && route.startsWith("/api/"))
      o.onChange();
    requestSeconds.observe(
      { method: request.method, route, status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });
  app.get("/metrics", async (request, reply) => {
    if (!bearerMatches(request.headers.authorization, o.config.values.metrics.bearer_token))
      throw new HttpError(401, "send Authorization: Bearer <[metrics] bearer_token>");
    return reply.header("content-type", registry.contentType).send(await registry.metrics());
  });
  const document = servedSpec(VERSION);
  app.get("/api/v2/openapi.json", async () => document);
  await app.register(swagger, { mode: "static", specification: { document: document as never } });
  await app.register(swaggerUi, { routePrefix: "/api/v2/docs" });
  registerAuthRoutes(app, context);
  for (const register of ROUTE_GROUPS) register(context);
  registerExecution(app, o);
  return app;
}

/**
 * The Task Execution API (execution.ts) for workers, with the task runner's database side. Without a
 * secret to sign try tokens with there is nothing a worker could use: it is left out, said once.
 */
function registerExecution(app: FastifyInstance, o: ApiOptions): void {
  const runner = createTaskRunnerDeps({
    ...o,
    logFolder: o.logFolder,
    dagRunAccess: dagRunAccess(o.database, {
      allowedRunIdPattern: o.config.values.scheduler.allowed_run_id_pattern,
    }),
  });
  let execution: { close(): Promise<void> };
  try {
    execution = registerExecutionApi(app, { ...o, runner });
  } catch (error) {
    o.log.warn(
      { err: error },
      "the Task Execution API is off (workers cannot run tasks through this webserver)",
    );
    return;
  }
  app.addHook("onClose", () => execution.close());
}

/** Errors Node's HTTP parser meets before any route (headers too large, an unparseable request), in the API's shape. */
function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  if (!socket.writable) {
    socket.destroy(error);
    return;
  }
  const status = error.code === "HPE_HEADER_OVERFLOW" ? 431 : error.code === "HPE_URI_TOO_LONG" ? 414 : 400;
  const reason = { 431: "Request Header Fields Too Large", 414: "URI Too Long", 400: "Bad Request" }[status];
  const body = JSON.stringify({ detail: status === 431 ? "Request header fields too large" : reason });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/** Fastify's trustProxy from `[api] trusted_proxies`: a list of addresses/CIDRs, or trust no one. */
function trustedProxies(setting: string): string[] | false {
  const list = setting
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  return list.length ? list : false;
}

/** JSON nested deeper than this is refused: every recursive step after it (validation, storage,
 * serialization) would risk the stack for no real use (Airflow's own conf stays a few levels deep). */
export const MAX_JSON_DEPTH = 64;

/**
 * The first part of a request no handler should see, in FastAPI's validation shape: a NUL character
 * (PostgreSQL refuses it in text, so each database would answer differently) or JSON nested deeper
 * than MAX_JSON_DEPTH. Walked without recursion, so the check itself cannot overflow.
 */
export function unsafeInput(value: unknown, where: string): ValidationProblem | undefined {
  const problem = (type: string, loc: (string | number)[], msg: string) => ({ type, loc, msg, input: null });
  const stack: { value: unknown; loc: (string | number)[] }[] = [{ value, loc: [where] }];
  while (stack.length) {
    const { value: v, loc } = stack.pop()!;
    if (typeof v === "string") {
      if (v.includes("\u0000")) return problem("string_nul", loc, "NUL characters (\\u0000) are not allowed");
      if (!v.isWellFormed())
        return problem("string_unicode", loc, "not valid Unicode (a lone UTF-16 surrogate)");
      continue;
    }
    if (v === null || typeof v !== "object") continue;
    if (loc.length - 1 > MAX_JSON_DEPTH)
      return problem("too_deep", loc.slice(0, 4), `nested deeper than ${MAX_JSON_DEPTH} levels`);
    for (const [key, item] of Object.entries(v)) {
      if (key.includes("\u0000"))
        return problem("string_nul", loc, "NUL characters (\\u0000) are not allowed in keys");
      stack.push({ value: item, loc: [...loc, Array.isArray(v) ? Number(key) : key] });
    }
  }
  return undefined;
}

/** One entry of a 422's `detail`, in FastAPI's shape. */
export interface ValidationProblem {
  type: string;
  loc: (string | number)[];
  msg: string;
  input: null;
}

/** API paths that read or write the database (health reports on it, so it is not one of them). */
function needsDatabase(url: string): boolean {
  if (url.startsWith(`${EXECUTION_PREFIX}/`)) return url !== `${EXECUTION_PREFIX}/health`;
  if (!/^\/(api|auth)\//.test(url)) return false;
  return !/^\/api\/v2\/(monitor\/health|version|openapi\.json|docs)(\/|\?|$)/.test(url);
}
