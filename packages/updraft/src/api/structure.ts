/**
 * A DAG's structure as Airflow 3's UI API shows it (`GET /ui/structure/structure_data`): nodes (tasks,
 * and task groups with their children) and edges. As in Airflow, a dependency set on a group as a
 * whole (`group >> x`) is drawn through two "join" nodes of the group instead of an edge from each
 * of its leaves to each root of what follows, so two groups of 50 tasks cost 100 edges, not 2,500.
 */
import { downstreamOf, taskById, type SerializedDag, type SerializedTaskGroup } from "../core/serialized.ts";
import {
  groupLeaves,
  groupMembers,
  groupRoots,
  groupsOf,
  labelOf,
  serializedGroupGraph,
  type GroupGraph,
} from "../core/task-groups.ts";
import { operatorColorOf, operatorNameOf } from "./dag-view.ts";

export interface StructureNode {
  id: string;
  label: string;
  type: "task" | "join";
  children?: StructureNode[];
  is_mapped?: boolean;
  tooltip?: string;
  setup_teardown_type?: "setup" | "teardown";
  operator?: string;
  ui_color?: string;
  ui_fgcolor?: string;
}

export interface StructureEdge {
  source_id: string;
  target_id: string;
  is_setup_teardown?: boolean;
}

export interface StructureData {
  nodes: StructureNode[];
  edges: StructureEdge[];
}

/** Airflow's names of a group's join nodes (TaskGroup.upstream_join_id / downstream_join_id). */
export const upstreamJoinId = (groupId: string) => `${groupId}.upstream_join_id`;
export const downstreamJoinId = (groupId: string) => `${groupId}.downstream_join_id`;

export function structureData(dag: SerializedDag): StructureData {
  return { nodes: nodesOf(dag, null), edges: edgesOf(dag) };
}

/** The tasks and groups directly inside `parent` (null: the top level), each group with its own. */
function nodesOf(dag: SerializedDag, parent: string | null): StructureNode[] {
  return siblingsInOrder(dag, parent).map((id) => {
    const group = groupsOf(dag).get(id);
    return group ? groupNode(dag, group) : taskNode(dag, id);
  });
}

function taskNode(dag: SerializedDag, taskId: string): StructureNode {
  const task = taskById(dag, taskId)!.task;
  return {
    id: taskId,
    label: labelOf(dag, taskId),
    operator: operatorNameOf(task.kind),
    type: "task",
    ui_color: operatorColorOf(task.kind),
    ui_fgcolor: "#000",
    ...(task.expand ? { is_mapped: true } : {}),
    ...(task.isSetup ? { setup_teardown_type: "setup" as const } : {}),
    ...(task.isTeardown ? { setup_teardown_type: "teardown" as const } : {}),
  };
}

function groupNode(dag: SerializedDag, group: SerializedTaskGroup): StructureNode {
  const children = nodesOf(dag, group.groupId);
  if (group.upstreamGroupIds.length > 0 || group.upstreamTaskIds.length > 0)
    children.push({ id: upstreamJoinId(group.groupId), label: "", type: "join" });
  if (group.downstreamGroupIds.length > 0 || group.downstreamTaskIds.length > 0)
    children.push({ id: downstreamJoinId(group.groupId), label: "", type: "join" });
  return {
    id: group.groupId,
    label: labelOf(dag, group.groupId),
    tooltip: group.tooltip,
    is_mapped: group.isMapped === true,
    children,
    type: "task",
    ui_color: group.uiColor,
    ui_fgcolor: group.uiFgColor,
  };
}

/**
 * The children of a group (or the top level) in dependency order (Airflow's topological_sort of a
 * TaskGroup): a child comes after every sibling one of its tasks depends on; ties go to the child
 * whose first task comes first in the DAG's order.
 */
function siblingsInOrder(dag: SerializedDag, parent: string | null): string[] {
  const groups = groupsOf(dag);
  const siblings =
    parent === null
      ? [
          ...dag.tasks.filter((t) => t.taskGroup === undefined).map((t) => t.taskId),
          ...[...groups.values()].filter((g) => g.parent === null).map((g) => g.groupId),
        ]
      : groups.get(parent)!.children;
  const siblingOf = new Map<string, string>();
  for (const id of siblings)
    for (const task of groups.has(id) ? groupMembers(dag, id) : [id]) siblingOf.set(task, id);
  const first = new Map<string, number>();
  const after = new Map<string, Set<string>>(siblings.map((id) => [id, new Set()]));
  dag.tasks.forEach((task, position) => {
    const mine = siblingOf.get(task.taskId);
    if (mine === undefined) return;
    if (!first.has(mine)) first.set(mine, position);
    for (const up of task.upstream) {
      const theirs = siblingOf.get(up);
      if (theirs !== undefined && theirs !== mine) after.get(mine)!.add(theirs);
    }
  });
  const rank = (id: string) => first.get(id) ?? Number.MAX_SAFE_INTEGER;
  const byRank = (a: string, b: string) => rank(a) - rank(b) || (a < b ? -1 : 1);
  // Kahn's sort in passes, as Airflow's: each pass takes every child whose siblings before it are
  // placed, in the DAG's order.
  const waiting = new Map(siblings.map((id) => [id, after.get(id)!.size]));
  const before = new Map<string, string[]>(siblings.map((id) => [id, []]));
  for (const [id, ups] of after) for (const up of ups) before.get(up)!.push(id);
  const out: string[] = [];
  let pass = siblings.filter((id) => waiting.get(id) === 0).sort(byRank);
  while (out.length < siblings.length) {
    // Group-level dependencies can loop where task-level ones do not (t -> g.a, g.b -> t): then the
    // first child left goes next, so every child is shown.
    if (pass.length === 0) pass = [siblings.filter((id) => waiting.get(id)! > 0).sort(byRank)[0]!];
    const next: string[] = [];
    for (const id of pass) {
      waiting.set(id, -1);
      out.push(id);
      for (const down of before.get(id)!) {
        const left = waiting.get(down)! - 1;
        waiting.set(down, left);
        if (left === 0) next.push(down);
      }
    }
    pass = next.sort(byRank);
  }
  return out;
}

/** Airflow's dag_edges: every task edge, with dependencies set on groups drawn through their join nodes. */
function edgesOf(dag: SerializedDag): StructureEdge[] {
  const down = downstreamOf(dag);
  const graph = serializedGroupGraph(dag, down);
  const key = (source: string, target: string) => `${source}\n${target}`;
  const add = new Set<string>();
  const skip = new Set<string>();
  const ends = new Map<string, { roots: string[]; leaves: string[] }>();
  const endsOf = (group: string) => {
    let found = ends.get(group);
    if (!found) ends.set(group, (found = groupEnds(groupMembers(dag, group), graph)));
    return found;
  };
  for (const group of groupsOf(dag).values()) {
    const out = downstreamJoinId(group.groupId);
    for (const targetId of group.downstreamGroupIds) {
      const into = upstreamJoinId(targetId);
      add.add(key(out, into));
      for (const leaf of endsOf(group.groupId).leaves) {
        add.add(key(leaf, out));
        for (const root of endsOf(targetId).roots) skip.add(key(leaf, root));
        skip.add(key(leaf, into));
      }
      for (const root of endsOf(targetId).roots) {
        add.add(key(into, root));
        skip.add(key(out, root));
      }
    }
    for (const targetId of group.downstreamTaskIds) {
      add.add(key(out, targetId));
      for (const leaf of endsOf(group.groupId).leaves) {
        add.add(key(leaf, out));
        skip.add(key(leaf, targetId));
      }
    }
    const into = upstreamJoinId(group.groupId);
    for (const sourceId of group.upstreamTaskIds) {
      add.add(key(sourceId, into));
      for (const root of endsOf(group.groupId).roots) {
        add.add(key(into, root));
        skip.add(key(sourceId, root));
      }
    }
  }
  const setupTeardown = new Set<string>();
  for (const task of dag.tasks)
    for (const up of task.upstream) {
      add.add(key(up, task.taskId));
      if (task.isTeardown && taskById(dag, up)?.task.isSetup) setupTeardown.add(key(up, task.taskId));
    }
  return [...add]
    .filter((k) => !skip.has(k))
    .map((k) => k.split("\n") as [string, string])
    .sort(([a, b], [c, d]) => (a === c ? (b < d ? -1 : b > d ? 1 : 0) : a < c ? -1 : 1))
    .map(([source_id, target_id]) => ({
      source_id,
      target_id,
      ...(setupTeardown.has(key(source_id, target_id)) ? { is_setup_teardown: true } : {}),
    }));
}

function groupEnds(members: string[], graph: GroupGraph): { roots: string[]; leaves: string[] } {
  return { roots: groupRoots(members, graph), leaves: groupLeaves(members, graph) };
}
