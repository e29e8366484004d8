/**
 * Dynamic task mapping (Airflow's expand): one task instance per element of a list known only at run
 * time. The serialized task keeps how it is mapped (`expand`); the scheduler learns each source's
 * length once its upstream finished and makes map indexes 0..n-1; the task runner works out the
 * element of its own index. Pure: lengths and values are read by the callers.
 *
 * Three forms, as Airflow's:
 * - "list": `t.expand(items)`; each element is the one argument (or, for operators, unused).
 * - "dict": `t.partial({...}).expand({ x: items, y: others })`; the cross product of the lists, the
 *   last key varying fastest, each combination merged over the partial arguments.
 * - "kwargs": `t.expandKwargs(listOfObjects)`; each object merged over the partial arguments.
 */
import { z } from "zod";
import type { SerializedDag, SerializedTask, XComRef } from "./serialized.ts";

/** A source of elements: a list written in the DAG file, or an upstream task's XCom. */
export type MapSource = unknown[] | XComRef;

export const EXPAND_MODES = ["list", "dict", "kwargs", "group"] as const;
export type ExpandMode = (typeof EXPAND_MODES)[number];

export const ExpandSchema = z.object({
  mode: z.enum(EXPAND_MODES),
  /** list / kwargs / group: one source; dict: an object of sources, in the order the keys were written. */
  value: z.unknown(),
  /**
   * "group": the mapped task group the task is in (Airflow's `group.expand(...)`): every task of the
   * group maps over the group's list, and instance i of a task follows instance i of the group's
   * tasks before it. Its element replaces the `{ "__map_element__": group }` placeholders of its arguments.
   */
  group: z.string().optional(),
});
export type Expand = z.infer<typeof ExpandSchema>;

/** Airflow's default [core] max_map_length. */
export const DEFAULT_MAX_MAP_LENGTH = 1024;

export function isMapped(task: SerializedTask): boolean {
  return task.expand !== undefined;
}

/** The XCom reference `value` holds, if it is one (`{ "__xcom__": { taskId, key } }`). */
export function xcomRefOf(value: unknown): XComRef["__xcom__"] | undefined {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
  const keys = Object.keys(value);
  if (keys.length !== 1 || keys[0] !== "__xcom__") return undefined;
  const ref = (value as XComRef).__xcom__;
  return ref && typeof ref.taskId === "string" && typeof ref.key === "string" ? ref : undefined;
}

/** The sources of a mapped task, named by key ("dict") or by null (one source). */
export function mapSources(expand: Expand): { name: string | null; source: MapSource }[] {
  if (expand.mode === "dict")
    return Object.entries(expand.value as Record<string, MapSource>).map(([name, source]) => ({
      name,
      source,
    }));
  return [{ name: null, source: expand.value as MapSource }];
}

/** How many task instances the sources' lengths make: the product for "dict", else the one length. */
export function mappedLength(lengths: readonly number[]): number {
  return lengths.reduce((a, b) => a * b, 1);
}

/**
 * Each source's position for map index `index` in the cross product, the last source varying fastest
 * (Airflow's order: expand(x=[1, 2], y=["a", "b"]) is (1,a), (1,b), (2,a), (2,b)).
 */
export function positionsAt(lengths: readonly number[], index: number): number[] {
  const out = new Array<number>(lengths.length);
  let rest = index;
  for (let i = lengths.length - 1; i >= 0; i--) {
    out[i] = rest % lengths[i]!;
    rest = Math.floor(rest / lengths[i]!);
  }
  return out;
}

/**
 * The element a mapped task instance gets, from its sources' resolved lists: for "list" the element
 * itself; for "dict" and "kwargs" an object of keyword values (to merge over the partial arguments).
 */
export function elementAt(expand: Expand, lists: readonly unknown[][], index: number): unknown {
  if (expand.mode !== "dict") return lists[0]![index];
  const names = mapSources(expand).map((s) => s.name!);
  const at = positionsAt(
    lists.map((l) => l.length),
    index,
  );
  return Object.fromEntries(names.map((name, i) => [name, lists[i]![at[i]!]]));
}

/** Why a source's value cannot be mapped over, or null: it must be a list (Airflow also maps dicts). */
export function unmappableReason(value: unknown, mode: ExpandMode): string | null {
  if (!Array.isArray(value))
    return `it is ${value === null ? "null" : typeof value === "object" ? "an object" : `a ${typeof value}`}, not a list`;
  if (mode === "kwargs") {
    const bad = value.findIndex((v) => v === null || typeof v !== "object" || Array.isArray(v));
    if (bad >= 0) return `its element ${bad} is not an object of keyword arguments`;
  }
  return null;
}

/** The mapped tasks that take their elements from `taskId`'s XCom `key` (what its push must suit). */
export function mappedConsumers(dag: SerializedDag, taskId: string, key: string): SerializedTask[] {
  return dag.tasks.filter(
    (t) =>
      t.expand &&
      mapSources(t.expand).some((s) => {
        const ref = xcomRefOf(s.source);
        return ref?.taskId === taskId && ref.key === key;
      }),
  );
}

/**
 * The task as one of its mapped instances runs it: the element merged into its TaskFlow arguments, or
 * into its operator fields (bash: command, env, cwd). Throws a message naming what is wrong.
 */
export function unmapTask(task: SerializedTask, element: unknown): SerializedTask {
  const { expand, ...rest } = task;
  if (!expand) return task;
  const taskflow = ["task", "branch", "short_circuit", "task_bash"].includes(task.kind);
  if (expand.mode === "group")
    return taskflow ? { ...rest, args: replaceElement(task.args, element) as never[] } : rest;
  if (expand.mode === "list") {
    if (taskflow) return { ...rest, args: [element as never] };
    throw new Error(`task "${task.taskId}" of kind ${task.kind} maps over keyword arguments only`);
  }
  const keywords = element as Record<string, unknown>;
  if (taskflow) {
    const fixed = (task.args[0] ?? {}) as Record<string, unknown>;
    return { ...rest, args: [{ ...fixed, ...keywords } as never] };
  }
  const allowed = Object.keys(OPERATOR_FIELDS[task.kind] ?? {});
  for (const [name, value] of Object.entries(keywords)) {
    if (!allowed.includes(name))
      throw new Error(
        `task "${task.taskId}" maps over "${name}", which a ${task.kind} task does not take (it takes ${allowed.join(", ") || "nothing"})`,
      );
    const problem = OPERATOR_FIELDS[task.kind]![name]!(value);
    if (problem) throw new Error(`task "${task.taskId}": the mapped value of "${name}" ${problem}`);
  }
  return { ...rest, templateFields: { ...task.templateFields, ...(keywords as Record<string, never>) } };
}

const isText = (v: unknown) =>
  typeof v === "string" && v.trim() !== "" ? null : "must be a non-empty string";

const isStrings = (v: unknown) =>
  v !== null &&
  typeof v === "object" &&
  !Array.isArray(v) &&
  Object.values(v).every((x) => typeof x === "string")
    ? null
    : "must be an object of string values";

/** The fields each operator kind can be mapped over, and what a value of each must be. */
const OPERATOR_FIELDS: Record<string, Record<string, (v: unknown) => string | null>> = {
  bash: { command: isText, cwd: isText, env: isStrings },
  http: {
    endpoint: (v) => (typeof v === "string" ? null : "must be a string"),
    method: isText,
    data: () => null,
    headers: isStrings,
  },
  sql: {
    sql: (v) =>
      isText(v) === null ||
      (Array.isArray(v) && v.length > 0 && v.every((s) => typeof s === "string" && s.trim() !== ""))
        ? null
        : "must be a statement or a list of statements",
    parameters: (v) => (v !== null && typeof v === "object" ? null : "must be a list or an object"),
  },
};

/** The operator fields a kind can be mapped over (for the SDK's checks). */
export function mappableFields(kind: string): string[] {
  return Object.keys(OPERATOR_FIELDS[kind] ?? {});
}

/** The key of the placeholder a mapped task group's argument leaves in its tasks' arguments. */
export const MAP_ELEMENT_KEY = "__map_element__";

/** `value` with every mapped-group placeholder replaced by `element`. */
function replaceElement(value: unknown, element: unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => replaceElement(v, element));
  if (value === null || typeof value !== "object") return value;
  const keys = Object.keys(value);
  if (keys.length === 1 && keys[0] === MAP_ELEMENT_KEY) return element;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replaceElement(v, element)]));
}

/** The mapped task group a task maps with, if any (its instance i follows instance i of the group's tasks). */
export function mappedGroupOf(task: SerializedTask | undefined): string | undefined {
  return task?.expand?.mode === "group" ? task.expand.group : undefined;
}
