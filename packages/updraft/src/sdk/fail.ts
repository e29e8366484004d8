/**
 * One way to word a definition problem: `dag "<dagId>": task "<taskId>": <what is wrong>: <what to
 * write instead>`. Every SDK error goes through here so the prefix never drifts.
 */
import { DagDefinitionError } from "../core/errors.ts";

export interface Where {
  dagId?: string | undefined;
  taskId?: string | undefined;
  /** The option group the problem is in, e.g. "defaultArgs". */
  part?: string | undefined;
}

export function prefix(where: Where): string {
  const parts: string[] = [];
  if (where.dagId !== undefined) parts.push(`dag "${where.dagId}"`);
  if (where.taskId !== undefined) parts.push(`task "${where.taskId}"`);
  if (where.part !== undefined) parts.push(where.part);
  return parts.length > 0 ? `${parts.join(": ")}: ` : "";
}

export function definitionError(where: Where, message: string): DagDefinitionError {
  const at: { dagId?: string; taskId?: string } = {};
  if (where.dagId !== undefined) at.dagId = where.dagId;
  if (where.taskId !== undefined) at.taskId = where.taskId;
  return new DagDefinitionError(`${prefix(where)}${message}`, at);
}

/** A short, safe rendering of any value for an error message. */
export function describe(value: unknown): string {
  if (value === undefined) return "undefined";
  if (typeof value === "function") return `a function${value.name ? ` (${value.name})` : ""}`;
  if (typeof value === "bigint") return `the bigint ${value}n`;
  if (typeof value === "symbol") return `a symbol (${value.description ?? ""})`;
  if (typeof value === "number" && !Number.isFinite(value)) return String(value);
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      const name = (value as { constructor?: { name?: string } }).constructor?.name;
      return `an instance of ${name || "a class"}`;
    }
  }
  try {
    const text = JSON.stringify(value);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
  } catch {
    return String(value);
  }
}

/** Airflow's id rule: alphanumerics, dashes, dots and underscores, at most 250 characters. */
const ID_PATTERN = /^[A-Za-z0-9_.-]+$/;
export const MAX_ID_LENGTH = 250;

export function idProblem(id: unknown): string | undefined {
  if (typeof id !== "string") return `must be a string, got ${describe(id)}`;
  if (id.length === 0) return "must not be empty";
  if (id.length > MAX_ID_LENGTH) return `is ${id.length} characters long; the maximum is ${MAX_ID_LENGTH}`;
  if (!ID_PATTERN.test(id)) {
    const bad = [...new Set([...id].filter((c) => !/[A-Za-z0-9_.-]/.test(c)))].map((c) => JSON.stringify(c));
    return `contains ${bad.join(", ")}: use only letters, digits, dashes, dots and underscores, e.g. "${suggestId(id)}"`;
  }
  return undefined;
}

function suggestId(id: string): string {
  return (
    id
      .replace(/[^A-Za-z0-9_.-]+/g, "_")
      .replace(/^_+|_+$/g, "")
      .slice(0, MAX_ID_LENGTH) || "my_id"
  );
}
