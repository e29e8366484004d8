/**
 * One task on the graph: a box with its id and operator, tinted by the selected run's state. Kept
 * cheap (two fixed handles, one context read) because hundreds can be on screen at once; the
 * states come through context so a live update re-renders only the boxes on screen, not the graph.
 */
import { Handle, Position, type Node, type NodeProps } from "@xyflow/react";
import { createContext, memo, use } from "react";
import { stateColor } from "../../../components/StateBadge.tsx";
import type { TaskInstance } from "../../../live.ts";

export interface TaskNodeData extends Record<string, unknown> {
  operator: string;
}
export type TaskNodeType = Node<TaskNodeData, "task">;

export interface GraphMarks {
  states: Map<string, TaskInstance> | undefined;
  selected: string | null;
}
export const GraphMarksContext = createContext<GraphMarks>({ states: undefined, selected: null });

export const TaskNode = memo(function TaskNode({ id, data }: NodeProps<TaskNodeType>) {
  const { states, selected } = use(GraphMarksContext);
  const state = states?.get(id)?.state ?? null;
  return (
    <div
      className={`graph-node${selected === id ? " selected" : ""}`}
      style={{ "--node-state": stateColor(state) } as React.CSSProperties}
      data-state={state ?? "none"}
      title={`${id} (${data.operator})${state ? `: ${state.replace(/_/g, " ")}` : ""}`}
    >
      {/* React Flow measures a drawn node's handles to attach its edges: without them, no edges */}
      <Handle type="target" position={Position.Left} isConnectable={false} className="graph-handle" />
      <span className="graph-node-id">{id}</span>
      <span className="graph-node-op">
        {data.operator}
        {state && <span className="graph-node-state"> · {state.replace(/_/g, " ")}</span>}
      </span>
      <Handle type="source" position={Position.Right} isConnectable={false} className="graph-handle" />
    </div>
  );
});

export const NODE_TYPES = { task: TaskNode };
