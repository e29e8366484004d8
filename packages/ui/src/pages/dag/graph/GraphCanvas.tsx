/**
 * The drawing: React Flow over the laid-out tasks, rendering only the nodes and edges on screen. The
 * nodes array is built once per layout and never changes after (states and the selection reach the
 * boxes through context), so panning, zooming and live updates never make React Flow re-adopt
 * thousands of nodes. Big graphs open at a readable zoom on their first task instead of as specks.
 */
import {
  Background,
  Controls,
  MiniMap,
  Panel,
  Position,
  ReactFlow,
  ReactFlowProvider,
  useReactFlow,
  useStore,
  type Edge,
  type Viewport,
} from "@xyflow/react";
import { use, useEffect, useMemo, useRef, useState } from "react";
import { stateColor } from "../../../components/StateBadge.tsx";
import type { Task } from "./TaskPanel.tsx";
import { NODE_TYPES, type TaskNodeType, GraphMarksContext } from "./TaskNode.tsx";
import type { GraphShape } from "./useLayout.ts";
import { NODE_HEIGHT, NODE_WIDTH } from "./useLayout.ts";
import type { LayoutResult } from "./types.ts";
import { Overview, taskAt } from "./Overview.tsx";

/** Below this zoom a whole graph is too small to read: open on its start instead. */
const READABLE_ZOOM = 0.45;
const OPEN_ZOOM = 0.8;
/** Above this many tasks the minimap (which draws every task) is left out. */
const MINIMAP_MAX = 2000;
/**
 * Below this zoom, graphs of more than OVERVIEW_MIN tasks are drawn on a canvas (Overview.tsx) rather
 * than as DOM boxes: their labels cannot be read there, and hundreds of boxes would slow every frame.
 */
const OVERVIEW_ZOOM = 0.45;
const OVERVIEW_MIN = 500;
const NO_NODES: TaskNodeType[] = [];
const NO_EDGES: Edge[] = [];

const HANDLES = [
  { type: "target" as const, position: Position.Left, x: 0, y: NODE_HEIGHT / 2, width: 1, height: 1 },
  {
    type: "source" as const,
    position: Position.Right,
    x: NODE_WIDTH,
    y: NODE_HEIGHT / 2,
    width: 1,
    height: 1,
  },
];

function buildElements(shape: GraphShape, layout: LayoutResult, operators: Map<string, Task>) {
  const nodes: TaskNodeType[] = shape.ids.map((id, i) => ({
    id,
    type: "task",
    position: { x: layout.xs[i]!, y: layout.ys[i]! },
    width: NODE_WIDTH,
    height: NODE_HEIGHT,
    handles: HANDLES,
    data: { operator: operators.get(id)?.operator_name ?? "" },
  }));
  const edges: Edge[] = [];
  for (let e = 0; e < shape.edges.length; e += 2) {
    const [s, t] = [shape.ids[shape.edges[e]!]!, shape.ids[shape.edges[e + 1]!]!];
    edges.push({ id: `${s}>${t}`, source: s, target: t, focusable: false });
  }
  return { nodes, edges };
}

function initialViewport(
  layout: LayoutResult,
  first: number,
  box: { width: number; height: number },
): Viewport {
  const pad = 24;
  const fit = Math.min((box.width - 2 * pad) / layout.width, (box.height - 2 * pad) / layout.height, 1.2);
  if (fit >= READABLE_ZOOM)
    return {
      zoom: fit,
      x: (box.width - layout.width * fit) / 2,
      y: (box.height - layout.height * fit) / 2,
    };
  const y = layout.ys[first] ?? 0;
  return { zoom: OPEN_ZOOM, x: pad, y: box.height / 2 - (y + NODE_HEIGHT / 2) * OPEN_ZOOM };
}

export function GraphCanvas({
  shape,
  layout,
  operators,
  focus,
  onSelect,
}: {
  shape: GraphShape;
  layout: LayoutResult;
  operators: Map<string, Task>;
  focus: { id: string } | null;
  onSelect: (taskId: string) => void;
}) {
  const { nodes, edges } = useMemo(() => buildElements(shape, layout, operators), [shape, layout, operators]);
  const box = useRef<HTMLDivElement>(null);
  const [viewport, setViewport] = useState<Viewport | null>(null);
  useEffect(() => {
    const el = box.current!;
    let first = 0;
    for (let i = 1; i < layout.xs.length; i++) if (layout.xs[i]! < layout.xs[first]!) first = i;
    setViewport(initialViewport(layout, first, { width: el.clientWidth, height: el.clientHeight }));
  }, [layout]);
  return (
    <div className="graph-canvas" ref={box} role="region" aria-label="Graph" data-testid="graph-canvas">
      {viewport && (
        <ReactFlowProvider>
          <Flow
            nodes={nodes}
            edges={edges}
            viewport={viewport}
            shape={shape}
            layout={layout}
            focus={focus}
            onSelect={onSelect}
          />
        </ReactFlowProvider>
      )}
    </div>
  );
}

function Flow({
  nodes,
  edges,
  viewport,
  shape,
  layout,
  focus,
  onSelect,
}: {
  nodes: TaskNodeType[];
  edges: Edge[];
  viewport: Viewport;
  shape: GraphShape;
  layout: LayoutResult;
  focus: { id: string } | null;
  onSelect: (taskId: string) => void;
}) {
  const zoomedOut = useStore((s) => s.transform[2] < OVERVIEW_ZOOM) && nodes.length > OVERVIEW_MIN;
  const flow = useReactFlow();
  return (
    <ReactFlow<TaskNodeType>
      nodes={zoomedOut ? NO_NODES : nodes}
      edges={zoomedOut ? NO_EDGES : edges}
      nodeTypes={NODE_TYPES}
      defaultViewport={viewport}
      minZoom={0.02}
      maxZoom={2}
      onlyRenderVisibleElements
      nodesDraggable={false}
      nodesConnectable={false}
      elementsSelectable={false}
      edgesFocusable={false}
      onNodeClick={(_, node) => onSelect(node.id)}
      onPaneClick={(event) => {
        if (!zoomedOut) return;
        const at = flow.screenToFlowPosition({ x: event.clientX, y: event.clientY });
        const id = taskAt(shape, layout, at.x, at.y);
        if (id) onSelect(id);
      }}
    >
      <Background gap={24} size={1} />
      <Controls showInteractive={false} />
      {nodes.length <= MINIMAP_MAX && <GraphMiniMap />}
      {zoomedOut && (
        <>
          <Overview shape={shape} layout={layout} />
          <Panel position="top-left" className="graph-hint muted">
            Zoomed out: zoom in to read the tasks, or click one
          </Panel>
        </>
      )}
      <FocusOn focus={focus} shape={shape} layout={layout} />
    </ReactFlow>
  );
}

function GraphMiniMap() {
  const { states } = use(GraphMarksContext);
  return (
    <MiniMap
      pannable
      zoomable
      ariaLabel="Graph overview"
      nodeColor={(node) => stateColor(states?.get(node.id)?.state)}
    />
  );
}

/** Brings the task found (or picked in the panel) to the middle of the view. */
function FocusOn({
  focus,
  shape,
  layout,
}: {
  focus: { id: string } | null;
  shape: GraphShape;
  layout: LayoutResult;
}) {
  const flow = useReactFlow();
  useEffect(() => {
    if (!focus) return;
    const i = shape.ids.indexOf(focus.id);
    if (i < 0) return;
    void flow.setCenter(layout.xs[i]! + NODE_WIDTH / 2, layout.ys[i]! + NODE_HEIGHT / 2, {
      zoom: Math.max(flow.getZoom(), OPEN_ZOOM),
      duration: 300,
    });
  }, [focus, shape, layout, flow]);
  return null;
}
