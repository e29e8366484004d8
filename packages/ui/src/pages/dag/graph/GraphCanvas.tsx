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
import { KIND, type GroupInfo } from "../groups.ts";
import { JOIN_SIZE } from "./boxes.ts";
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

const handlesFor = (width: number, height: number) => [
  { type: "target" as const, position: Position.Left, x: 0, y: height / 2, width: 1, height: 1 },
  { type: "source" as const, position: Position.Right, x: width, y: height / 2, width: 1, height: 1 },
];
const HANDLES = handlesFor(NODE_WIDTH, NODE_HEIGHT);
const JOIN_HANDLES = handlesFor(JOIN_SIZE, JOIN_SIZE);

/** What the boxes show besides their place: names, operators, groups (with their tasks and colour). */
export interface NodeInfo {
  labels: Map<string, string>;
  operators: Map<string, string>;
  groups: Map<string, GroupInfo>;
  /** Marks of tasks: "mapped", "setup", "teardown". */
  marks?: Map<string, string[]>;
  /** Setup-to-teardown edges ("source>target"), drawn dashed. */
  setupTeardownEdges?: Set<string>;
}

function nodeOf(
  id: string,
  i: number,
  shape: GraphShape,
  layout: LayoutResult,
  info: NodeInfo,
): TaskNodeType {
  const position = { x: layout.xs[i]!, y: layout.ys[i]! };
  const kind = shape.kinds?.[i] ?? KIND.task;
  const group = info.groups.get(id);
  const groupData = {
    label: group?.label ?? id,
    tooltip: group?.tooltip ?? "",
    members: group?.members ?? [],
    color: group?.color ?? "CornflowerBlue",
  };
  if (kind === KIND.box) {
    const [width, height] = [layout.ws?.[i] ?? NODE_WIDTH, layout.hs?.[i] ?? NODE_HEIGHT];
    // A frame lets clicks through to what it holds and to the pane; only its header takes them.
    return { id, type: "box", position, width, height, style: { pointerEvents: "none" }, data: groupData };
  }
  if (kind === KIND.join)
    return {
      id,
      type: "join",
      position,
      width: JOIN_SIZE,
      height: JOIN_SIZE,
      handles: JOIN_HANDLES,
      data: {},
    };
  const size = { position, width: NODE_WIDTH, height: NODE_HEIGHT, handles: HANDLES };
  if (kind === KIND.group) return { id, type: "group", ...size, data: groupData };
  return {
    id,
    type: "task",
    ...size,
    data: {
      operator: info.operators.get(id) ?? "",
      label: info.labels.get(id) ?? id,
      marks: info.marks?.get(id) ?? NO_MARKS,
    },
  };
}

const NO_MARKS: string[] = [];
/** A setup's edge to its teardown: dashed, as Airflow draws it. */
const SETUP_TEARDOWN_EDGE = { strokeDasharray: "5 4" };

function buildElements(shape: GraphShape, layout: LayoutResult, info: NodeInfo) {
  const nodes: TaskNodeType[] = shape.ids.map((id, i) => nodeOf(id, i, shape, layout, info));
  // Boxes first: React Flow draws in order, so a box never covers what it holds.
  if (shape.kinds) nodes.sort((a, b) => Number(b.type === "box") - Number(a.type === "box"));
  const edges: Edge[] = [];
  for (let e = 0; e < shape.edges.length; e += 2) {
    const [s, t] = [shape.ids[shape.edges[e]!]!, shape.ids[shape.edges[e + 1]!]!];
    const id = `${s}>${t}`;
    const setupTeardown = info.setupTeardownEdges?.has(id) === true;
    edges.push({
      id,
      source: s,
      target: t,
      focusable: false,
      ...(setupTeardown ? { className: "setup-teardown", style: SETUP_TEARDOWN_EDGE } : {}),
    });
  }
  return { nodes, edges };
}

const PAD = 24;

/** The whole graph in the box, if it can be read at that size. */
function wholeGraph(layout: LayoutResult, box: { width: number; height: number }): Viewport | null {
  const fit = Math.min((box.width - 2 * PAD) / layout.width, (box.height - 2 * PAD) / layout.height, 1.2);
  if (fit < READABLE_ZOOM) return null;
  return { zoom: fit, x: (box.width - layout.width * fit) / 2, y: (box.height - layout.height * fit) / 2 };
}

function initialViewport(
  layout: LayoutResult,
  first: number,
  box: { width: number; height: number },
): Viewport {
  const whole = wholeGraph(layout, box);
  if (whole) return whole;
  const y = layout.ys[first] ?? 0;
  return { zoom: OPEN_ZOOM, x: PAD, y: box.height / 2 - (y + NODE_HEIGHT / 2) * OPEN_ZOOM };
}

export function GraphCanvas({
  shape,
  layout,
  info,
  focus,
  onSelect,
}: {
  shape: GraphShape;
  layout: LayoutResult;
  info: NodeInfo;
  focus: Focus | null;
  onSelect: (taskId: string) => void;
}) {
  const { nodes, edges } = useMemo(() => buildElements(shape, layout, info), [shape, layout, info]);
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
  focus: Focus | null;
  onSelect: (taskId: string) => void;
}) {
  const zoomedOut = useStore((s) => s.transform[2] < OVERVIEW_ZOOM) && nodes.length > OVERVIEW_MIN;
  const flow = useReactFlow();
  const { toggle } = use(GraphMarksContext);
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
      onNodeClick={(_, node) => node.type === "task" && onSelect(node.id)}
      onPaneClick={(event) => {
        if (!zoomedOut) return;
        const at = flow.screenToFlowPosition({ x: event.clientX, y: event.clientY });
        const i = taskAt(shape, layout, at.x, at.y);
        if (i === null) return;
        const kind = shape.kinds?.[i] ?? KIND.task;
        if (kind === KIND.task) onSelect(shape.ids[i]!);
        else if (kind === KIND.group) toggle?.(shape.ids[i]!);
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

/**
 * What to bring into view: a task found or picked (`id`), or a group just opened or closed (`whole`):
 * then the whole graph if it can be read at that size, else the group.
 */
export interface Focus {
  id: string;
  whole?: boolean;
}

/** Brings the task found (or picked in the panel, or the group toggled) to the middle of the view. */
function FocusOn({ focus, shape, layout }: { focus: Focus | null; shape: GraphShape; layout: LayoutResult }) {
  const flow = useReactFlow();
  const pane = useStore((s) => ({ width: s.width, height: s.height }), sameSize);
  useEffect(() => {
    if (!focus) return;
    const i = shape.ids.indexOf(focus.id);
    if (i < 0) return;
    const whole = focus.whole && pane.width > 0 ? wholeGraph(layout, pane) : null;
    if (whole) return void flow.setViewport(whole, { duration: 300 });
    const [w, h] = [layout.ws?.[i] ?? NODE_WIDTH, layout.hs?.[i] ?? NODE_HEIGHT];
    void flow.setCenter(
      layout.xs[i]! + Math.min(w, NODE_WIDTH * 2) / 2,
      layout.ys[i]! + Math.min(h, 200) / 2,
      {
        zoom: Math.max(flow.getZoom(), OPEN_ZOOM),
        duration: 300,
      },
    );
  }, [focus, shape, layout, flow, pane]);
  return null;
}

const sameSize = (a: { width: number; height: number }, b: { width: number; height: number }) =>
  a.width === b.width && a.height === b.height;
