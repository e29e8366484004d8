/**
 * What the graph draws: a task (a box with its name and operator, tinted by the selected run's state),
 * a collapsed task group (the same box, tinted by its tasks' summary state, that opens on click), an
 * expanded group (a frame around its tasks, with a button to close it) and a group's join node (a
 * dot). Kept cheap (fixed handles, one context read) because hundreds can be on screen at once; the
 * states come through context so a live update re-renders only the boxes on screen, not the graph.
 */
import { Handle, Position, type Node, type NodeProps } from "@xyflow/react";
import { createContext, memo, use } from "react";
import { stateColor } from "../../../components/StateBadge.tsx";
import type { TaskInstance } from "../../../live.ts";
import { groupState } from "../groups.ts";

export interface TaskNodeData extends Record<string, unknown> {
  operator: string;
  /** The name shown: the task's id without its groups' prefix. */
  label: string;
  /** "mapped" (shown as Airflow's "[ ]"), "setup" (↑), "teardown" (↓). */
  marks: string[];
}
export interface GroupNodeData extends Record<string, unknown> {
  label: string;
  tooltip: string;
  /** The group's tasks, for its summary state. */
  members: string[];
  color: string;
}
export type TaskNodeType =
  | Node<TaskNodeData, "task">
  | Node<GroupNodeData, "group">
  | Node<GroupNodeData, "box">
  | Node<Record<string, never>, "join">;

export interface GraphMarks {
  states: Map<string, TaskInstance> | undefined;
  selected: string | null;
  /** Opens a collapsed group or closes an expanded one. */
  toggle?: (groupId: string) => void;
}
export const GraphMarksContext = createContext<GraphMarks>({ states: undefined, selected: null });

const pretty = (state: string | null) => (state ? state.replace(/_/g, " ") : null);

/** React Flow measures a drawn node's handles to attach its edges: without them, no edges. */
function Handles({ children }: { children: React.ReactNode }) {
  return (
    <>
      <Handle type="target" position={Position.Left} isConnectable={false} className="graph-handle" />
      {children}
      <Handle type="source" position={Position.Right} isConnectable={false} className="graph-handle" />
    </>
  );
}

export const TaskNode = memo(function TaskNode({ id, data }: NodeProps<Node<TaskNodeData, "task">>) {
  const { states, selected } = use(GraphMarksContext);
  const state = states?.get(id)?.state ?? null;
  return (
    <div
      className={`graph-node${selected === id ? " selected" : ""}`}
      style={{ "--node-state": stateColor(state) } as React.CSSProperties}
      data-state={state ?? "none"}
      title={`${id} (${data.operator})${state ? `: ${pretty(state)}` : ""}`}
    >
      <Handles>
        <span className="graph-node-id">
          {data.marks.includes("setup") && (
            <span aria-label="setup" title="setup">
              ↑{" "}
            </span>
          )}
          {data.marks.includes("teardown") && (
            <span aria-label="teardown" title="teardown">
              ↓{" "}
            </span>
          )}
          {data.label}
          {data.marks.includes("mapped") && (
            <span className="graph-node-mapped" aria-label="mapped" title="mapped">
              {" "}
              [ ]
            </span>
          )}
        </span>
        <span className="graph-node-op">
          {data.operator}
          {state && <span className="graph-node-state"> · {pretty(state)}</span>}
        </span>
      </Handles>
    </div>
  );
});

/** A collapsed group: its state is its tasks' summary; clicking (or Enter) opens it. */
export const GroupNode = memo(function GroupNode({ id, data }: NodeProps<Node<GroupNodeData, "group">>) {
  const { states, toggle } = use(GraphMarksContext);
  const state = groupState(data.members.map((m) => states?.get(m)?.state ?? null));
  const count = `${data.members.length} task${data.members.length === 1 ? "" : "s"}`;
  return (
    <button
      type="button"
      className="graph-node graph-group"
      style={{ "--node-state": stateColor(state), "--group-color": data.color } as React.CSSProperties}
      data-state={state ?? "none"}
      aria-expanded={false}
      aria-label={`Expand task group ${id}`}
      title={`${data.tooltip ? `${data.tooltip}\n` : ""}${id}: ${count}${state ? `, ${pretty(state)}` : ""}`}
      onClick={() => toggle?.(id)}
    >
      <Handles>
        <span className="graph-node-id">▸ {data.label}</span>
        <span className="graph-node-op">
          Task group · {count}
          {state && <span className="graph-node-state"> · {pretty(state)}</span>}
        </span>
      </Handles>
    </button>
  );
});

/** An expanded group: a frame around its tasks; its header closes it. */
export const BoxNode = memo(function BoxNode({
  id,
  data,
  width,
  height,
}: NodeProps<Node<GroupNodeData, "box">>) {
  const { toggle } = use(GraphMarksContext);
  return (
    <div
      className="graph-box"
      style={{ width, height, "--group-color": data.color } as React.CSSProperties}
      data-group={id}
      title={data.tooltip || undefined}
    >
      <button
        type="button"
        className="graph-box-head"
        aria-expanded={true}
        aria-label={`Collapse task group ${id}`}
        onClick={() => toggle?.(id)}
      >
        ▾ {data.label}
      </button>
    </div>
  );
});

/** Where a dependency set on a whole group enters or leaves it (Airflow's join nodes). */
export const JoinNode = memo(function JoinNode() {
  return (
    <div className="graph-join">
      <Handles>{null}</Handles>
    </div>
  );
});

export const NODE_TYPES = { task: TaskNode, group: GroupNode, box: BoxNode, join: JoinNode };
