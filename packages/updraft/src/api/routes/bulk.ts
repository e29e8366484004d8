/**
 * Airflow's bulk endpoints (PATCH /variables, /connections, /pools): a list of create, update and
 * delete actions. Each action first checks existence as its action_on_existence /
 * action_on_non_existence says ("fail" fails the whole action before any change, "skip" leaves those
 * entities out, "overwrite" replaces them); then each entity is applied, and an entity that fails
 * is reported in `errors` while the others go on. The answer lists, per action kind, the keys that
 * succeeded and the errors.
 */
import type { components } from "../generated/airflow-v2.ts";
import { HttpError } from "../errors.ts";
import { detailText } from "./admin-common.ts";

type BulkResponse = components["schemas"]["BulkResponse"];
type ActionResult = { success: string[]; errors: Record<string, unknown>[] };

export interface BulkAction<E> {
  action: "create" | "update" | "delete";
  entities: (E | string)[];
  action_on_existence?: "fail" | "skip" | "overwrite";
  action_on_non_existence?: "fail" | "skip";
  update_mask?: string[] | null;
}

export interface BulkTarget<E> {
  /** How Airflow's messages name the objects and their keys: "variables", "keys". */
  noun: string;
  keyNoun: string;
  keyOf(entity: E): string;
  /** The keys among `keys` that exist. */
  existing(keys: string[]): Promise<Set<string>>;
  create(entity: E, overwrite: boolean): Promise<void>;
  update(entity: E, mask: string[] | null): Promise<void>;
  remove(key: string): Promise<void>;
}

/** Python's repr of a set of strings, as Airflow's messages print it. */
const pySet = (keys: string[]) =>
  `{${[...keys]
    .sort()
    .map((k) => `'${k}'`)
    .join(", ")}}`;

function errorOf(error: unknown): Record<string, unknown> {
  if (error instanceof HttpError) return { error: detailText(error), status_code: error.status };
  const code = (error as { code?: string }).code;
  const status = code === "NOT_FOUND" ? 404 : code === "ALREADY_EXISTS" ? 409 : code ? 400 : 500;
  return { error: status === 500 ? "Internal Server Error" : (error as Error).message, status_code: status };
}

export async function runBulk<E>(actions: BulkAction<E>[], target: BulkTarget<E>): Promise<BulkResponse> {
  const results: Partial<Record<BulkAction<E>["action"], ActionResult>> = {};
  for (const action of actions) {
    const result = (results[action.action] ??= { success: [], errors: [] });
    const keyOf = (entity: E | string) => (typeof entity === "string" ? entity : target.keyOf(entity));
    const keys = [...new Set(action.entities.map(keyOf))];
    const existing = await target.existing(keys);
    const present = keys.filter((k) => existing.has(k));
    const missing = keys.filter((k) => !existing.has(k));
    if (action.action === "create") {
      const onExistence = action.action_on_existence ?? "fail";
      if (onExistence === "fail" && present.length > 0) {
        result.errors.push({
          error: `The ${target.noun} with these ${target.keyNoun}: ${pySet(present)} already exist.`,
          status_code: 409,
        });
        continue;
      }
      for (const entity of action.entities as E[]) {
        const key = target.keyOf(entity);
        if (existing.has(key) && onExistence === "skip") continue;
        await apply(result, key, () => target.create(entity, existing.has(key)));
      }
      continue;
    }
    const onMissing = action.action_on_non_existence ?? "fail";
    if (onMissing === "fail" && missing.length > 0) {
      result.errors.push({
        error: `The ${target.noun} with these ${target.keyNoun}: ${pySet(missing)} were not found.`,
        status_code: 404,
      });
      continue;
    }
    if (action.action === "update") {
      for (const entity of action.entities as E[]) {
        const key = target.keyOf(entity);
        if (!existing.has(key)) continue;
        await apply(result, key, () => target.update(entity, action.update_mask ?? null));
      }
    } else {
      for (const key of present) await apply(result, key, () => target.remove(key));
    }
  }
  return { create: results.create ?? null, update: results.update ?? null, delete: results.delete ?? null };
}

async function apply(result: ActionResult, key: string, change: () => Promise<void>): Promise<void> {
  try {
    await change();
    result.success.push(key);
  } catch (error) {
    result.errors.push(errorOf(error));
  }
}

/** The keys that changed, per action kind, for the audit log. */
export function changedKeys(response: BulkResponse): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const kind of ["create", "update", "delete"] as const) {
    const success = response[kind]?.success ?? [];
    if (success.length) out[kind] = success;
  }
  return out;
}
