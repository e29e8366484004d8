/**
 * Errors in the shape Airflow's API answers with: `{"detail": "..."}` and the spec's status codes;
 * request validation failures are 422 with FastAPI's list of `{type, loc, msg, input}`. A database
 * that cannot be reached, or a statement that lost a race (a deadlock), is a 503 with Retry-After:
 * the request was fine and will work again, so it is neither a 500 nor a hang.
 */
import type { FastifyError } from "fastify";
import { UpdraftError } from "../core/errors.ts";
import { isDbConnectionError, isTransientDbError } from "../storage/retry.ts";

export class HttpError extends Error {
  readonly status: number;
  readonly detail: unknown;
  readonly headers?: Record<string, string>;
  constructor(status: number, detail: unknown, headers?: Record<string, string>) {
    super(typeof detail === "string" ? detail : JSON.stringify(detail));
    this.status = status;
    this.detail = detail;
    this.headers = headers;
  }
}

export const notFound = (detail: string) => new HttpError(404, detail);
export const badRequest = (detail: string) => new HttpError(400, detail);
export const conflict = (detail: string) => new HttpError(409, detail);
export const forbidden = (detail: string) => new HttpError(403, detail);

const STATUS_OF: Record<string, number> = {
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  CONFLICT: 409,
  INVALID_INPUT: 400,
  CONNECTION_URI_INVALID: 400,
  DAG_DEFINITION: 400,
  LOG_REFUSED: 403,
};

export const DATABASE_UNREACHABLE = "the metadata database is unreachable; retrying";
export const DATABASE_BUSY = "the metadata database was busy (a deadlock or a lock timeout); try again";
/** Seconds a client should wait before asking again after a 503. */
export const RETRY_AFTER_SECONDS = 5;

export interface ErrorResponse {
  status: number;
  body: { detail: unknown };
  headers?: Record<string, string>;
}

/** 503 with Retry-After: the request was fine; the database was not. */
export const unavailable = (detail: string, retryAfter = RETRY_AFTER_SECONDS): ErrorResponse => ({
  status: 503,
  body: { detail },
  headers: { "retry-after": String(retryAfter) },
});

/** The status and body for any error a handler throws. */
export function errorResponse(error: unknown): ErrorResponse {
  if (error instanceof HttpError)
    return { status: error.status, body: { detail: error.detail }, headers: error.headers };
  if (isDbConnectionError(error) || (error instanceof UpdraftError && error.code === "DATABASE_UNREACHABLE"))
    return unavailable(DATABASE_UNREACHABLE);
  if (isTransientDbError(error)) return unavailable(DATABASE_BUSY, 1);
  if (error instanceof UpdraftError && STATUS_OF[error.code])
    return { status: STATUS_OF[error.code]!, body: { detail: error.message } };
  const fe = error as FastifyError & { validationContext?: string };
  if (fe.validation) {
    const where = { body: "body", querystring: "query", params: "path", headers: "header" }[
      fe.validationContext ?? "body"
    ];
    return {
      status: 422,
      body: {
        detail: fe.validation.map((v) => {
          const missing = (v.params as { missingProperty?: string }).missingProperty;
          const path = v.instancePath.split("/").filter(Boolean);
          return {
            type: missing ? "missing" : v.keyword,
            loc: [where, ...path, ...(missing ? [missing] : [])],
            msg: missing ? "Field required" : (v.message ?? "invalid"),
            input: null,
          };
        }),
      },
    };
  }
  if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500)
    return { status: fe.statusCode, body: { detail: fe.message } };
  return { status: 500, body: { detail: "Internal Server Error" } };
}
