/**
 * TaskFlow arguments as JSON. A task's arguments are stored in the serialized DAG, so each must be
 * a JSON value, with task outputs (XComArg, possibly nested in arrays and objects) replaced by
 * `{ "__xcom__": { taskId, key } }`. The task runner turns those back into values with resolveXComRefs.
 */
import type { XComRef } from "../core/serialized.ts";
import { MAP_ELEMENT_KEY } from "../core/mapping.ts";
import { definitionError, describe, type Where } from "./fail.ts";
import { TaskHandle, XComArg } from "./handles.ts";

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

const XCOM_KEY = "__xcom__";

/**
 * What the function of a mapped task group (`group.expand(items)`) gets for its mapped argument: a
 * stand-in for "this instance's element", stored as `{ "__map_element__": group }` wherever a task
 * of the group is given it, and replaced by the element at run time.
 */
export class MapElement {
  /** @internal */
  readonly groupId: string;
  /** @internal */
  constructor(groupId: string) {
    this.groupId = groupId;
  }
  toString(): string {
    return `<the element of mapped task group ${this.groupId}>`;
  }
}

/**
 * Converts argument `index` to JSON, calling `onXCom` for every task output found in it.
 * Throws a DagDefinitionError naming the argument and the path to the first non-JSON value.
 */
export function argToJson(
  value: unknown,
  where: Where,
  index: number,
  onXCom: (arg: XComArg) => void,
): JsonValue {
  return toJson(value, onXCom, (path, problem) => {
    const at = path ? ` (at ${path})` : "";
    throw definitionError(
      where,
      `argument ${index}${at} ${problem}: task arguments are stored as JSON, so pass strings, numbers, booleans, null, ` +
        "arrays and plain objects, or the output of another task",
    );
  });
}

/**
 * Checks that `value` is JSON (no functions, class instances, undefined, bigint, NaN, cycles) and
 * returns it as such. Task outputs become XComRefs when `onXCom` is given, else are a problem.
 * `fail` receives the path to the first problem ("" for the value itself, ".rows[2]" inside).
 */
export function toJson(
  value: unknown,
  onXCom: ((arg: XComArg) => void) | undefined,
  fail: (path: string, problem: string) => never,
): JsonValue {
  const seen = new Set<object>();
  const walk = (v: unknown, path: string): JsonValue => {
    if (v === null || typeof v === "string" || typeof v === "boolean") return v;
    if (typeof v === "number")
      return Number.isFinite(v) ? v : fail(path, `is ${v}, which JSON cannot represent`);
    if (v instanceof MapElement) return { [MAP_ELEMENT_KEY]: v.groupId };
    if (v instanceof XComArg && onXCom) {
      onXCom(v);
      return { [XCOM_KEY]: { taskId: v.taskId, key: v.xcomKey } };
    }
    if (v instanceof XComArg)
      return fail(path, `is the output of task "${v.taskId}", which is only known at run time`);
    if (v instanceof TaskHandle) {
      return fail(
        path,
        `is the handle of task "${v.taskId}", not a value; pass ${v.taskId}.xcom() for its output, or use .before()/chain() to only order the tasks`,
      );
    }
    if (v === undefined) return fail(path, "is undefined (use null, or leave the key out)");
    if (typeof v === "function") return fail(path, `is ${describe(v)} (call it inside the task instead)`);
    if (typeof v === "bigint") return fail(path, `is ${describe(v)} (pass it as a string or a number)`);
    if (typeof v !== "object") return fail(path, `is ${describe(v)}`);
    if (seen.has(v)) return fail(path, "refers to itself (a circular structure)");
    seen.add(v);
    try {
      return Array.isArray(v) ? walkArray(v, path) : walkObject(v, path);
    } finally {
      seen.delete(v);
    }
  };
  const walkArray = (v: unknown[], path: string): JsonValue[] => {
    const out: JsonValue[] = [];
    for (let i = 0; i < v.length; i++) {
      if (!(i in v)) fail(`${path}[${i}]`, "is a hole in a sparse array (use null)");
      out.push(walk(v[i], `${path}[${i}]`));
    }
    return out;
  };
  const walkObject = (v: object, path: string): JsonValue => {
    const proto: unknown = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) {
      const hint =
        v instanceof Date
          ? " (pass date.toISOString())"
          : v instanceof Map || v instanceof Set
            ? " (pass an object or an array)"
            : "";
      return fail(path, `is ${describe(v)}${hint}`);
    }
    if (Object.getOwnPropertySymbols(v).length > 0) return fail(path, "has symbol keys");
    const out: { [key: string]: JsonValue } = {};
    for (const [key, inner] of Object.entries(v)) {
      const innerPath = `${path}${/^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`}`;
      if (key === XCOM_KEY)
        fail(innerPath, `uses the key "${XCOM_KEY}", which Updraft reserves for task outputs`);
      out[key] = walk(inner, innerPath);
    }
    return out;
  };
  return walk(value, "");
}

export function isXComRef(value: unknown): value is XComRef {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  if (keys.length !== 1 || keys[0] !== XCOM_KEY) return false;
  const ref = (value as Record<string, unknown>)[XCOM_KEY] as { taskId?: unknown; key?: unknown } | null;
  return (
    ref !== null && typeof ref === "object" && typeof ref.taskId === "string" && typeof ref.key === "string"
  );
}

/** Every XCom reference inside serialized arguments, in order of appearance. */
export function findXComRefs(value: unknown): XComRef["__xcom__"][] {
  const found: XComRef["__xcom__"][] = [];
  const walk = (v: unknown): void => {
    if (isXComRef(v)) found.push(v.__xcom__);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === "object") Object.values(v).forEach(walk);
  };
  walk(value);
  return found;
}

/**
 * Replaces every XCom reference in serialized arguments by the value `pull` returns for it: what
 * the task runner does before calling a TaskFlow function.
 */
export function resolveXComRefs(value: unknown, pull: (ref: XComRef["__xcom__"]) => unknown): unknown {
  if (isXComRef(value)) return pull(value.__xcom__);
  if (Array.isArray(value)) return value.map((v) => resolveXComRefs(v, pull));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveXComRefs(v, pull)]));
  }
  return value;
}
