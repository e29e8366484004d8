/**
 * Task groups for the graph and the grid, from the DAG's structure (structure-api.ts): which groups
 * there are and what each holds, the graph as it is drawn with some groups expanded (a collapsed
 * group is one node; an edge into any of its tasks or join nodes goes to it), the grid's rows, and
 * the state a group shows for a run. Pure, so node:test checks it without a browser.
 */
import type { Structure, StructureNode } from "./structure-api.ts";

export interface GroupInfo {
  id: string;
  label: string;
  tooltip: string;
  /** Every task inside, inner groups' included. */
  members: string[];
  /** The group's colour in the graph (its uiColor). */
  color: string;
}

/** What the views look up in a structure: groups, each node's group, labels, every task id. */
export interface StructureIndex {
  groups: Map<string, GroupInfo>;
  /** The group each task, join node and group is directly inside (absent at the top level). */
  parent: Map<string, string>;
  labels: Map<string, string>;
  /** Each task's operator name. */
  operators: Map<string, string>;
  taskIds: string[];
  /** How a task is marked in the graph: "mapped", "setup", "teardown" (absent: plain). */
  marks: Map<string, string[]>;
  /** Edges from a setup to its teardown ("source>target"), drawn apart as Airflow does. */
  setupTeardownEdges: Set<string>;
}

const isGroup = (node: StructureNode) => node.type === "task" && Array.isArray(node.children);

export function indexStructure(structure: Structure): StructureIndex {
  const index: StructureIndex = {
    groups: new Map(),
    parent: new Map(),
    labels: new Map(),
    operators: new Map(),
    taskIds: [],
    marks: new Map(),
    setupTeardownEdges: new Set(),
  };
  const walk = (nodes: StructureNode[], parent: string | undefined): string[] => {
    const tasks: string[] = [];
    for (const node of nodes) {
      if (parent !== undefined) index.parent.set(node.id, parent);
      index.labels.set(node.id, node.label || node.id);
      if (isGroup(node)) {
        const members = walk(node.children!, node.id);
        const color = node.ui_color ?? "CornflowerBlue";
        index.groups.set(node.id, {
          id: node.id,
          label: node.label,
          tooltip: node.tooltip ?? "",
          members,
          color,
        });
        tasks.push(...members);
      } else if (node.type !== "join") {
        index.taskIds.push(node.id);
        index.operators.set(node.id, node.operator ?? "");
        const marks = [
          ...(node.is_mapped ? ["mapped"] : []),
          ...(node.setup_teardown_type ? [node.setup_teardown_type] : []),
        ];
        if (marks.length > 0) index.marks.set(node.id, marks);
        tasks.push(node.id);
      }
    }
    return tasks;
  };
  walk(structure.nodes, undefined);
  for (const e of structure.edges)
    if (e.is_setup_teardown) index.setupTeardownEdges.add(`${e.source_id}>${e.target_id}`);
  return index;
}

/** The groups around a task or group, outermost first: what must be expanded to show it. */
export function ancestorsOf(index: StructureIndex, id: string): string[] {
  const out: string[] = [];
  for (let at = index.parent.get(id); at !== undefined; at = index.parent.get(at)) out.unshift(at);
  return out;
}

/** How a node of the drawn graph is drawn. */
export const KIND = { task: 0, group: 1, join: 2, box: 3 } as const;

/** The graph as drawn: ids and edges as the layout takes them, each node's kind and containing box. */
export interface VisibleGraph {
  ids: string[];
  /** Pairs of indexes into `ids`: source, target, ... (never a box: boxes only contain). */
  edges: Int32Array;
  /** KIND of each node: a task, a collapsed group, an expanded group's join node, or its box. */
  kinds: Uint8Array;
  /** The index of the box (expanded group) each node is drawn inside, or -1. */
  parents: Int32Array;
}

/**
 * The graph with the groups in `expanded` open: an expanded group is a box around its children (and
 * join nodes); a collapsed one is a single node, and every edge into or out of what it holds is an
 * edge into or out of it (merged, so two collapsed groups are joined by one edge).
 */
export function visibleGraph(structure: Structure, expanded: ReadonlySet<string>): VisibleGraph {
  const ids: string[] = [];
  const kinds: number[] = [];
  const parents: number[] = [];
  /** Where each node of the structure is drawn: itself, or the collapsed group that hides it. */
  const drawnAs = new Map<string, number>();
  const hide = (node: StructureNode, at: number) => {
    drawnAs.set(node.id, at);
    for (const child of node.children ?? []) hide(child, at);
  };
  const add = (node: StructureNode, box: number) => {
    const at = ids.length;
    ids.push(node.id);
    parents.push(box);
    drawnAs.set(node.id, at);
    if (!isGroup(node)) {
      kinds.push(node.type === "join" ? KIND.join : KIND.task);
    } else if (expanded.has(node.id)) {
      kinds.push(KIND.box);
      for (const child of node.children!) add(child, at);
    } else {
      kinds.push(KIND.group);
      for (const child of node.children!) hide(child, at);
    }
  };
  for (const node of structure.nodes) add(node, -1);
  const seen = new Set<number>();
  const edges: number[] = [];
  for (const edge of structure.edges) {
    const [s, t] = [drawnAs.get(edge.source_id), drawnAs.get(edge.target_id)];
    if (s === undefined || t === undefined || s === t) continue;
    const key = s * ids.length + t;
    if (seen.has(key)) continue;
    seen.add(key);
    edges.push(s, t);
  }
  return {
    ids,
    edges: Int32Array.from(edges),
    kinds: Uint8Array.from(kinds),
    parents: Int32Array.from(parents),
  };
}

/** A row of the grid: a task, or a group (collapsed or expanded) standing for its tasks. */
export interface GridRowItem {
  id: string;
  label: string;
  depth: number;
  /** The tasks whose instances the row shows: the task itself, or all of the group's. */
  tasks: string[];
  group: boolean;
  expanded: boolean;
}

/** The grid's rows in the structure's order, the tasks of expanded groups under their group's row. */
export function gridRows(structure: Structure, index: StructureIndex, expanded: ReadonlySet<string>) {
  const rows: GridRowItem[] = [];
  const walk = (nodes: StructureNode[], depth: number) => {
    for (const node of nodes) {
      if (node.type === "join") continue;
      if (isGroup(node)) {
        const open = expanded.has(node.id);
        const tasks = index.groups.get(node.id)!.members;
        rows.push({ id: node.id, label: node.label, depth, tasks, group: true, expanded: open });
        if (open) walk(node.children!, depth + 1);
      } else {
        rows.push({
          id: node.id,
          label: node.label || node.id,
          depth,
          tasks: [node.id],
          group: false,
          expanded: false,
        });
      }
    }
  };
  walk(structure.nodes, 0);
  return rows;
}

/**
 * The state a group shows for a run, from its tasks' (Airflow's State.state_priority): a failure
 * anywhere first, then what is waiting or running, then "no status" while any task has not started,
 * and success only when every task is done.
 */
const GROUP_PRIORITY = [
  "failed",
  "upstream_failed",
  "up_for_retry",
  "up_for_reschedule",
  "queued",
  "scheduled",
  "deferred",
  "running",
  "restarting",
  null,
  "success",
  "skipped",
  "removed",
];

export function groupState(states: Iterable<string | null | undefined>): string | null {
  let best = GROUP_PRIORITY.length;
  let any = false;
  for (const state of states) {
    any = true;
    const rank = GROUP_PRIORITY.indexOf(state ?? null);
    if (rank >= 0 && rank < best) best = rank;
  }
  return any && best < GROUP_PRIORITY.length ? GROUP_PRIORITY[best]! : null;
}
