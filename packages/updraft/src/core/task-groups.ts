/**
 * Task groups (Airflow's TaskGroup) over any graph of tasks: the roots and leaves of a group, which
 * decide what `group >> x` and `x >> group` connect (the SDK, while the DAG is built) and where the
 * graph view's join nodes attach (the API, over the serialized form). Groups only arrange tasks for
 * people: the scheduler never reads them.
 */
import { taskById, type SerializedDag, type SerializedTask, type SerializedTaskGroup } from "./serialized.ts";

/** What roots and leaves need to know of the graph the group's tasks are in. */
export interface GroupGraph {
  upstream(taskId: string): Iterable<string>;
  downstream(taskId: string): Iterable<string>;
  isSetup(taskId: string): boolean;
  isTeardown(taskId: string): boolean;
}

/** The group's tasks with no upstream task inside the group (Airflow's get_roots), in member order. */
export function groupRoots(members: readonly string[], graph: GroupGraph): string[] {
  const inside = new Set(members);
  return members.filter((id) => ![...graph.upstream(id)].some((up) => inside.has(up)));
}

/**
 * The group's tasks with no downstream task inside it (Airflow's get_leaves), in member order. A
 * teardown at the end does not count: what its setups' work ends with does, so `group >> next` waits
 * for the work, not for the cleanup.
 */
export function groupLeaves(members: readonly string[], graph: GroupGraph): string[] {
  const inside = new Set(members);
  const out = new Set<string>();
  const hasWorkAfter = (id: string, exclude: string) =>
    [...graph.downstream(id)].some((d) => d !== exclude && inside.has(d) && !graph.isTeardown(d));
  const beforeTeardown = (id: string, seen: Set<string>): void => {
    if (seen.has(id)) return;
    seen.add(id);
    for (const up of graph.upstream(id)) {
      if (!inside.has(up)) continue;
      if (graph.isTeardown(up)) beforeTeardown(up, seen);
      else if (graph.isTeardown(id) && graph.isSetup(up)) continue;
      else if (!hasWorkAfter(up, id)) out.add(up);
    }
  };
  for (const id of members) {
    if ([...graph.downstream(id)].some((d) => inside.has(d))) continue;
    if (graph.isTeardown(id)) beforeTeardown(id, new Set());
    else out.add(id);
  }
  return members.filter((id) => out.has(id));
}

const groupMemo = new WeakMap<SerializedDag, Map<string, SerializedTaskGroup>>();

/** The DAG's groups by id (computed once per DAG object), outer groups before inner ones. */
export function groupsOf(dag: SerializedDag): Map<string, SerializedTaskGroup> {
  let byId = groupMemo.get(dag);
  if (!byId) groupMemo.set(dag, (byId = new Map((dag.taskGroups ?? []).map((g) => [g.groupId, g]))));
  return byId;
}

/** Every task inside the group, inner groups' tasks included, in the order they were added. */
export function groupMembers(dag: SerializedDag, groupId: string): string[] {
  const groups = groupsOf(dag);
  const out: string[] = [];
  const walk = (id: string) => {
    for (const child of groups.get(id)?.children ?? []) {
      if (groups.has(child)) walk(child);
      else out.push(child);
    }
  };
  walk(groupId);
  return out;
}

/** The group a task or group is directly inside, or null at the top level. */
export function parentOf(dag: SerializedDag, id: string): string | null {
  const group = groupsOf(dag).get(id);
  if (group) return group.parent;
  return taskById(dag, id)?.task.taskGroup ?? null;
}

/**
 * A task's or group's name without its group's prefix (Airflow's label): "extract" for
 * "etl.extract" when the group "etl" prefixes its ids.
 */
export function labelOf(dag: SerializedDag, id: string): string {
  const parent = parentOf(dag, id);
  const group = parent === null ? undefined : groupsOf(dag).get(parent);
  return group?.prefixGroupId && id.startsWith(`${group.groupId}.`) ? id.slice(group.groupId.length + 1) : id;
}

/** The serialized DAG as a GroupGraph. */
export function serializedGroupGraph(dag: SerializedDag, downstream: Map<string, string[]>): GroupGraph {
  const byId = new Map<string, SerializedTask>(dag.tasks.map((t) => [t.taskId, t]));
  return {
    upstream: (id) => byId.get(id)?.upstream ?? [],
    downstream: (id) => downstream.get(id) ?? [],
    isSetup: (id) => byId.get(id)?.isSetup === true,
    isTeardown: (id) => byId.get(id)?.isTeardown === true,
  };
}

/**
 * Ids a branch returned, with any task group's id replaced by the group's roots (Airflow's
 * _expand_task_group_roots): returning a group follows the tasks it starts with.
 */
export function expandGroupIds(
  dag: SerializedDag,
  ids: readonly unknown[],
  downstream: Map<string, string[]>,
): unknown[] {
  const groups = groupsOf(dag);
  if (groups.size === 0) return [...ids];
  const graph = serializedGroupGraph(dag, downstream);
  return ids.flatMap((id) =>
    typeof id === "string" && groups.has(id) ? groupRoots(groupMembers(dag, id), graph) : [id],
  );
}
