/** Small helpers shared by the admin routes (variables, connections, pools, event logs, jobs). */
import { sql, type SelectQueryBuilder } from "kysely";
import type { SecretCipher } from "../../secrets/cipher.ts";
import type { ApiContext } from "../app.ts";
import { badRequest, HttpError } from "../errors.ts";
import { applyOrder, likeAny, paging } from "../paging.ts";
import type { components } from "../generated/airflow-v2.ts";
import type { JobTable } from "../../storage/schema.ts";

/** The number of rows a filtered query of a small table matches, before paging (large ones: countTotal). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any table, any selection
export async function countRows(qb: SelectQueryBuilder<any, any, any>): Promise<number> {
  const row = await qb
    .clearSelect()
    .clearOrderBy()
    .select(sql<number | string>`count(*)`.as("n"))
    .executeTakeFirst();
  return Number((row as { n?: number | string } | undefined)?.n ?? 0);
}

/**
 * One page of an admin list: the `*_pattern` filter on `column`, the total before paging, then
 * `order_by` (fields Updraft keeps no value for dropped) with the id as tie-break.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any table, any selection
export async function listPage<QB extends SelectQueryBuilder<any, any, any>>(
  qb: QB,
  query: { limit?: number; offset?: number; order_by?: string[] },
  filter: { column: string; pattern: string | null | undefined },
  order: Record<string, string>,
): Promise<{ rows: Awaited<ReturnType<QB["execute"]>>; total: number }> {
  const filtered = filter.pattern ? (qb.where(likeAny(filter.column, filter.pattern)) as QB) : qb;
  const total = await countRows(filtered);
  const { limit, offset } = paging(query);
  const rows = await applyOrder(filtered, withoutNullFields(query.order_by, ["team_name"]), order, "id", [
    "id",
  ])
    .limit(limit)
    .offset(offset)
    .execute();
  return { rows: rows as Awaited<ReturnType<QB["execute"]>>, total };
}

/** A 422 in FastAPI's shape for one field of the body, as Airflow answers a model validation error. */
export function unprocessable(field: string, msg: string): HttpError {
  return new HttpError(422, [{ type: "value_error", loc: ["body", field], msg, input: null }]);
}

/** The text of an error detail for bulk answers and logs: FastAPI's list reads as "field: problem". */
export function detailText(error: HttpError): string {
  if (!Array.isArray(error.detail)) return error.message;
  return (error.detail as { loc?: unknown[]; msg?: string }[])
    .map((d) => `${(d.loc ?? []).slice(1).join(".")}: ${d.msg ?? "invalid"}`)
    .join("; ");
}

/**
 * `order_by` without the fields Updraft keeps no value for (always null, e.g. team_name): sorting
 * by them changes nothing, so they are accepted and dropped rather than refused.
 */
export function withoutNullFields(orderBy: string[] | undefined, fields: string[]): string[] | undefined {
  if (!orderBy) return orderBy;
  const kept = orderBy
    .flatMap((f) => f.split(","))
    .map((f) => f.trim())
    .filter((f) => f && !fields.includes(f.replace(/^-/, "")));
  return kept.length ? kept : undefined;
}

/**
 * The fields a PATCH changes: those present in the body, narrowed to `update_mask` when given.
 * Names that are not fields of the object are a 400; the key field is never changed.
 */
export function fieldsToUpdate(
  body: object,
  updateMask: string[] | undefined | null,
  updatable: string[],
  keyField: string,
  what: string,
): string[] {
  const sent = Object.keys(body).filter((f) => updatable.includes(f));
  if (!updateMask || updateMask.length === 0) return sent;
  const mask = updateMask
    .flatMap((f) => f.split(","))
    .map((f) => f.trim())
    .filter(Boolean);
  const unknown = mask.filter((f) => f !== keyField && !updatable.includes(f));
  if (unknown.length)
    throw badRequest(
      `update_mask names ${unknown.map((f) => `'${f}'`).join(", ")}, which ${unknown.length > 1 ? "are not fields" : "is not a field"} a ${what} can change; use ${updatable.join(", ")}`,
    );
  return sent.filter((f) => mask.includes(f));
}

/** The webserver's cipher for secrets; without one, reading or writing a secret is a clear 500. */
export function cipherOf(ctx: ApiContext): SecretCipher {
  if (ctx.cipher) return ctx.cipher;
  const fail = (): never => {
    throw new HttpError(
      500,
      "The webserver has no encryption key ([security] encryption_key in updraft.toml), so it cannot read or write secrets",
    );
  };
  return { encrypt: fail, decrypt: fail, isEncrypted: (s: string) => s.startsWith("enc:") };
}

/** A job row as the API shows it (the jobs list, a deferred task instance's triggerer). */
export const jobResponse = (
  j: Omit<JobTable, "id"> & { id: number },
): components["schemas"]["JobResponse"] => ({
  id: j.id,
  dag_id: null,
  state: j.state,
  job_type: j.job_type,
  start_date: j.start_date,
  end_date: j.end_date,
  latest_heartbeat: j.latest_heartbeat,
  executor_class: null,
  hostname: j.hostname,
  unixname: null,
  dag_display_name: null,
});
