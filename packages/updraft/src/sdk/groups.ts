/**
 * taskGroup(): Airflow's TaskGroup (and @task_group). Defining a group adds nothing; calling the
 * factory it returns runs the group's function, whose tasks get ids prefixed with the group's
 * ("etl.extract"), inherit the group's defaultArgs, and are shown together in the graph and the grid.
 * The call returns a TaskGroupHandle for dependencies (handles.ts).
 *
 * Mapped groups (Airflow's `group.expand(...)`) can be added as a method of the factory beside
 * `override`: it would call the function once, with placeholders for the mapped arguments, and mark
 * the GroupNode mapped (see the report of the issue that adds dynamic task mapping).
 */
import type { SerializedTaskGroup } from "../core/serialized.ts";
import { currentBuilder, peekBuilder, type DagBuilder, type GroupNode } from "./builder.ts";
import { definitionError, describe, idProblem, MAX_ID_LENGTH, type Where } from "./fail.ts";
import { TaskGroupHandle, XComArg } from "./handles.ts";
import { MapElement, toJson } from "./json.ts";
import type { MapInput } from "./tasks.ts";
import { assertKnownKeys, bool, definedEntries, resolveTaskOptions, type TaskOptions } from "./options.ts";

/** Options of taskGroup(); each has the meaning of Airflow's TaskGroup argument of the same name. */
export interface TaskGroupOptions {
  /**
   * true (default): the ids of the group's tasks and inner groups start with "<groupId>." (a task
   * "load" in group "etl" is "etl.load"). false: they keep their own ids, which must then be unique
   * in the DAG.
   */
  prefixGroupId?: boolean;
  /**
   * Options every task of the group takes unless it sets them itself; they override the DAG's
   * defaultArgs, and an inner group's override an outer group's.
   */
  defaultArgs?: TaskOptions;
  /** Shown when the pointer rests on the group in the graph. */
  tooltip?: string;
  /** The group's colour in the graph (a CSS colour). Default "CornflowerBlue", as in Airflow. */
  uiColor?: string;
  /** The colour of the group's label in the graph. Default "#000". */
  uiFgColor?: string;
}

/** Options of override(): the group's options and another id. */
export interface TaskGroupOverrideOptions extends TaskGroupOptions {
  groupId?: string;
}

/** A mapped group's output: a task's output becomes the list of its instances' values. */
export type Gathered<R> = R extends XComArg<infer T> ? XComArg<T[]> : R;

/** What taskGroup() returns: call it inside a dag() build to add the group; the call returns its handle. */
export interface TaskGroupFactory<Args extends unknown[], R> {
  (...args: Args): TaskGroupHandle<R>;
  /**
   * A mapped task group (Airflow's `group.expand(...)`): the function runs once with a stand-in for
   * its one argument, and every task of the group gets one instance per element of `items` (a list,
   * or a task's output); instance i of a task follows instance i of the group's tasks before it, and
   * a task inside given the argument gets element i. Downstream of the group, a task's output is the
   * list of its instances' results.
   */
  expand(items: MapInput<Args extends [infer A] ? A : never>): TaskGroupHandle<Gathered<R>>;
  /** The id the first call gets; later calls get `<groupId>__1`, `<groupId>__2`, ... */
  readonly groupId: string;
  /** The same group with other options (and possibly another id), like Airflow's `.override()`. */
  override(options: TaskGroupOverrideOptions): TaskGroupFactory<Args, R>;
}

const OPTION_KEYS = ["prefixGroupId", "defaultArgs", "tooltip", "uiColor", "uiFgColor"];

interface GroupSpec {
  groupId: string;
  body: (...args: never[]) => unknown;
  prefixGroupId: boolean;
  defaultArgs: TaskOptions;
  tooltip: string;
  uiColor: string;
  uiFgColor: string;
  /** The taskGroup() call this factory comes from, shared by its overrides. */
  origin: object;
}

/**
 * Defines a task group. `body` adds the group's tasks (and inner groups) when the factory is called;
 * it gets the call's arguments as they are (task outputs included) and may return anything, found
 * as the handle's `output`.
 *
 * @example
 * const etl = taskGroup("etl", (day: string) => {
 *   const rows = extract(day);        // task id "etl.extract"
 *   return load(transform(rows));     // "etl.transform", "etl.load"; the handle's output
 * }, { defaultArgs: { retries: 3 }, tooltip: "Extract, transform and load one day" });
 *
 * export default dag({ dagId: "daily" }, () => {
 *   const group = etl("{{ ds }}");
 *   empty("start").before(group).before(empty("end")); // start >> etl >> end
 *   report(group.output);                               // the value load returned
 * });
 */
export function taskGroup<Args extends unknown[], R>(
  groupId: string,
  body: (...args: Args) => R,
  options: TaskGroupOptions = {},
): TaskGroupFactory<Args, R> {
  const where: Where = { dagId: peekBuilder()?.dagId };
  checkGroupId(groupId, where);
  const at = { ...where, part: `task group "${groupId}"` };
  if (typeof body !== "function") {
    throw definitionError(
      at,
      `taskGroup() takes the group's function as its second argument, got ${describe(body)}: write taskGroup("${groupId}", () => { ... })`,
    );
  }
  return makeFactory({ groupId, body: body as GroupSpec["body"], ...checkOptions(options, at), origin: {} });
}

function checkOptions(given: TaskGroupOptions, where: Where): Omit<GroupSpec, "groupId" | "body" | "origin"> {
  assertKnownKeys(given, OPTION_KEYS, "taskGroup() options", where);
  const options = given as TaskGroupOptions;
  if (options.defaultArgs !== undefined)
    resolveTaskOptions(options.defaultArgs, { ...where, part: `${where.part}: defaultArgs` }, "defaultArgs");
  return {
    prefixGroupId: bool(options.prefixGroupId, "prefixGroupId", where, true),
    defaultArgs: definedEntries(options.defaultArgs),
    tooltip: label(options.tooltip, "tooltip", where, ""),
    uiColor: label(options.uiColor, "uiColor", where, "CornflowerBlue"),
    uiFgColor: label(options.uiFgColor, "uiFgColor", where, "#000"),
  };
}

function label(value: unknown, name: string, where: Where, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== "string")
    throw definitionError(where, `${name} must be a string, got ${describe(value)}`);
  return value;
}

function makeFactory<Args extends unknown[], R>(spec: GroupSpec): TaskGroupFactory<Args, R> {
  const factory = (...args: unknown[]) => invoke(spec, args);
  const expand = (items: unknown) => invoke(spec, [], { items });
  const override = (options: TaskGroupOverrideOptions): TaskGroupFactory<Args, R> => {
    const where = { dagId: peekBuilder()?.dagId, part: `task group "${spec.groupId}"` };
    assertKnownKeys(options, ["groupId", ...OPTION_KEYS], "override()", where);
    const { groupId = spec.groupId, ...rest } = options as TaskGroupOverrideOptions;
    checkGroupId(groupId, where);
    const merged: TaskGroupOptions = {
      prefixGroupId: spec.prefixGroupId,
      tooltip: spec.tooltip,
      uiColor: spec.uiColor,
      uiFgColor: spec.uiFgColor,
      defaultArgs: spec.defaultArgs,
      // As Airflow's override(): what is given replaces (defaultArgs whole, not key by key).
      ...definedEntries(rest),
    };
    return makeFactory({
      ...spec,
      groupId,
      ...checkOptions(merged, { ...where, part: `task group "${groupId}"` }),
    });
  };
  Object.defineProperties(factory, {
    name: { value: spec.groupId },
    groupId: { value: spec.groupId, enumerable: true },
    override: { value: override },
    expand: { value: expand },
  });
  return factory as unknown as TaskGroupFactory<Args, R>;
}

function invoke(spec: GroupSpec, args: unknown[], mapping?: { items: unknown }): TaskGroupHandle {
  const builder = currentBuilder(`the factory returned by taskGroup("${spec.groupId}", ...)`, undefined);
  const parent = builder.currentGroup;
  const group: GroupNode = {
    groupId: uniqueGroupId(builder, builder.qualify(spec.groupId), spec.origin),
    parent,
    prefixGroupId: spec.prefixGroupId,
    tooltip: spec.tooltip,
    uiColor: spec.uiColor,
    uiFgColor: spec.uiFgColor,
    defaultArgs: { ...definedEntries(parent?.defaultArgs ?? builder.defaultArgs), ...spec.defaultArgs },
    children: [],
    upstreamGroupIds: new Set(),
    upstreamTaskIds: new Set(),
    downstreamGroupIds: new Set(),
    downstreamTaskIds: new Set(),
    origin: spec.origin,
  };
  builder.assertOpen(group.groupId);
  if (mapping) {
    group.mapped = mappedSource(builder, group.groupId, mapping.items);
    args = [new MapElement(group.groupId)];
  }
  builder.groups.set(group.groupId, group);
  parent?.children.push(group.groupId);
  builder.currentGroup = group;
  let output: unknown;
  try {
    output = spec.body(...(args as never[]));
  } finally {
    builder.currentGroup = parent;
  }
  if (
    output !== null &&
    typeof output === "object" &&
    typeof (output as { then?: unknown }).then === "function"
  ) {
    (output as Promise<unknown>).then(undefined, () => {});
    throw definitionError(
      { dagId: builder.dagId, part: `task group "${group.groupId}"` },
      "the group's function returned a promise: it must be synchronous, so write () => { ... } rather than async () => { ... }",
    );
  }
  return new TaskGroupHandle(builder, group.groupId, output);
}

/** A mapped group's list as JSON, and the tasks whose outputs it names (its tasks wait for them). */
function mappedSource(
  builder: DagBuilder,
  groupId: string,
  items: unknown,
): NonNullable<GroupNode["mapped"]> {
  const where = { dagId: builder.dagId, part: `task group "${groupId}"` };
  const outer = builder.mappedGroup();
  if (outer)
    throw definitionError(
      where,
      `a mapped task group inside the mapped task group "${outer.groupId}" is not supported (Airflow does not map nested groups either): call the inner group plainly`,
    );
  if (!(items instanceof XComArg) && !Array.isArray(items))
    throw definitionError(
      where,
      `expand() takes a list or the output of a task returning a list, got ${describe(items)}: write ${groupId}.expand([1, 2, 3])`,
    );
  const producers: string[] = [];
  const source = toJson(
    items,
    (x) => producers.push(x.taskId),
    (path, problem) => {
      throw definitionError(where, `expand()'s items${path} ${problem}: mapped lists are stored as JSON`);
    },
  );
  return { source, producers };
}

/**
 * The id a call of a group definition gets: its own the first time, then `id__1`, `id__2`, ... when
 * the same definition is called again (Airflow's add_suffix_on_collision). Another group or a task
 * already using the id is a duplicate.
 */
function uniqueGroupId(builder: DagBuilder, base: string, origin: object): string {
  const where = { dagId: builder.dagId, part: `task group "${base}"` };
  const existing = builder.groups.get(base);
  if (builder.nodes.has(base))
    throw definitionError(
      where,
      "the group id is already used by a task of this DAG: task and group ids share one namespace, rename one of them",
    );
  if (!existing) return base;
  if (existing.origin !== origin)
    throw definitionError(
      where,
      "the group id is already used by another task group of this DAG: group ids must be unique within a DAG, rename one of them",
    );
  let highest = 0;
  for (const id of builder.groups.keys()) {
    const m = id.startsWith(`${base}__`) ? /^\d+$/.exec(id.slice(base.length + 2)) : null;
    if (m) highest = Math.max(highest, Number(m[0]));
  }
  const id = `${base}__${highest + 1}`;
  if (id.length > MAX_ID_LENGTH || builder.nodes.has(id))
    throw definitionError(
      where,
      `calling this group again would need the id "${id}", which is too long or taken by a task: give the group another id`,
    );
  return id;
}

/** Airflow's group key rule: a task id's characters but no dot, since dots join a group's id to what it holds. */
function checkGroupId(groupId: unknown, where: Where): asserts groupId is string {
  const problem = idProblem(groupId);
  if (problem) throw definitionError(where, `the task group id ${problem}`);
  if ((groupId as string).includes(".")) {
    throw definitionError(
      where,
      `the task group id "${groupId as string}" contains ".": dots join a group's id to the ids inside it; use letters, digits, dashes and underscores, e.g. "${(groupId as string).replace(/\./g, "_")}"`,
    );
  }
}

/** The DAG's groups in their serialized form, outer before inner (the order they were added). */
export function serializeGroups(builder: DagBuilder): SerializedTaskGroup[] {
  const sorted = (ids: Set<string>) => [...ids].sort();
  return [...builder.groups.values()].map((g) => ({
    groupId: g.groupId,
    parent: g.parent?.groupId ?? null,
    prefixGroupId: g.prefixGroupId,
    tooltip: g.tooltip,
    uiColor: g.uiColor,
    uiFgColor: g.uiFgColor,
    children: [...g.children],
    upstreamGroupIds: sorted(g.upstreamGroupIds),
    upstreamTaskIds: sorted(g.upstreamTaskIds),
    downstreamGroupIds: sorted(g.downstreamGroupIds),
    downstreamTaskIds: sorted(g.downstreamTaskIds),
    ...(g.mapped ? { isMapped: true } : {}),
  }));
}
