/**
 * The drawing: React Flow over the laid-out tasks, rendering only the nodes and edges on screen. The
 * nodes array is built once per layout and never changes after (states and the selection reach the
 * boxes through context), so panning, zooming and live updates never make React Flow re-adopt
 * thousands of nodes. Every graph opens whole, however big (zoomed out, big graphs are drawn on a
 * canvas), and Fit View fits any size: the zoom may go as far out as the whole graph needs.
 */
import {
  Background,
  ControlButton,
  Controls,
  MarkerType,
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
import { MiniOverview } from "./MiniOverview.tsx";

const OPEN_ZOOM = 0.8;
/** Below this zoom a whole graph is too small to read (a group toggled then stays in view instead). */
const READABLE_ZOOM = 0.45;
/** The zoom range: out as far as the whole graph needs (and a little more), in to twice the size. */
const MIN_ZOOM = 0.02;
const MAX_ZOOM = 2;
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

/** Every edge ends in an arrowhead pointing at its downstream task (one shared SVG marker). */
const ARROW = { type: MarkerType.ArrowClosed, width: 14, height: 14 } as const;

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
      markerEnd: ARROW,
      ...(setupTeardown ? { className: "setup-teardown", style: SETUP_TEARDOWN_EDGE } : {}),
    });
  }
  return { nodes, edges };
}

const PAD = 24;

/** The zoom at which the whole graph fills the box (never above 1.2: small graphs stay their size). */
function fitZoom(layout: LayoutResult, box: { width: number; height: number }): number {
  const [w, h] = [Math.max(layout.width, 1), Math.max(layout.height, 1)];
  return Math.max(Math.min((box.width - 2 * PAD) / w, (box.height - 2 * PAD) / h, 1.2), 1e-4);
}

/** The whole graph, centred in the box. */
function wholeGraph(layout: LayoutResult, box: { width: number; height: number }): Viewport {
  const fit = fitZoom(layout, box);
  return { zoom: fit, x: (box.width - layout.width * fit) / 2, y: (box.height - layout.height * fit) / 2 };
}

export function GraphCanvas({
  shape,
  layout,
  tasks,
  ms,
  info,
  focus,
  onSelect,
}: {
  shape: GraphShape;
  layout: LayoutResult;
  /** How many tasks the DAG has, and how long the layout took (ms). */
  tasks: number;
  ms?: number;
  info: NodeInfo;
  focus: Focus | null;
  onSelect: (taskId: string) => void;
}) {
  const { nodes, edges } = useMemo(() => buildElements(shape, layout, info), [shape, layout, info]);
  const box = useRef<HTMLDivElement>(null);
  const [viewport, setViewport] = useState<Viewport | null>(null);
  useEffect(() => {
    const el = box.current!;
    setViewport(wholeGraph(layout, { width: el.clientWidth, height: el.clientHeight }));
  }, [layout]);
  return (
    <div
      className="graph-canvas"
      ref={box}
      role="region"
      aria-label="Graph"
      data-testid="graph-canvas"
      // For the benchmark and the tests (no longer printed on the page): what was laid out, how, how fast.
      data-tasks={tasks}
      data-layout-ms={ms === undefined ? undefined : Math.round(ms)}
      data-engine={layout.engine}
      data-width={Math.round(layout.width)}
      data-height={Math.round(layout.height)}
    >
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
  const big = nodes.length > OVERVIEW_MIN;
  const zoomedOut = useStore((s) => s.transform[2] < OVERVIEW_ZOOM) && big;
  const pane = useStore((s) => ({ width: s.width, height: s.height }), sameSize);
  // Out as far as the whole graph needs: React Flow clamps every zoom (its own fit too) to minZoom.
  const minZoom = Math.min(MIN_ZOOM, fitZoom(layout, pane.width ? pane : { width: 800, height: 600 }) / 2);
  const flow = useReactFlow();
  const { toggle } = use(GraphMarksContext);
  return (
    <ReactFlow<TaskNodeType>
      nodes={zoomedOut ? NO_NODES : nodes}
      edges={zoomedOut ? NO_EDGES : edges}
      nodeTypes={NODE_TYPES}
      defaultViewport={viewport}
      minZoom={minZoom}
      maxZoom={MAX_ZOOM}
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
      <Controls showInteractive={false} showFitView={false}>
        {/* React Flow's own fit measures the nodes it holds, and zoomed out a big graph holds none. */}
        <ControlButton
          title="Fit View"
          aria-label="Fit View"
          onClick={() => void flow.setViewport(wholeGraph(layout, pane), { duration: 300 })}
        >
          <svg viewBox="0 0 32 30" aria-hidden>
            <path d="M3.692 4.63c0-.53.4-.938.939-.938h5.215V0H4.708C2.13 0 0 2.054 0 4.63v5.216h3.692V4.631zM27.354 0h-5.2v3.692h5.17c.53 0 .984.4.984.939v5.215H32V4.631A4.624 4.624 0 0027.354 0zm.954 24.83c0 .532-.4.94-.939.94h-5.215v3.768h5.215c2.577 0 4.631-2.13 4.631-4.707v-5.139h-3.692v5.139zm-23.677.94c-.531 0-.939-.4-.939-.94v-5.138H0v5.139c0 2.577 2.13 4.707 4.708 4.707h5.138V25.77H4.631z" />
          </svg>
        </ControlButton>
      </Controls>
      {big ? <MiniOverview shape={shape} layout={layout} /> : <GraphMiniMap />}
      {zoomedOut && (
        <>
          <Overview shape={shape} layout={layout} />
          <Panel position="top-left" className="graph-hint muted">
            Zoomed out: zoom in to read the tasks, or click one
          </Panel>
        </>
      )}
      <FocusOn focus={focus} shape={shape} layout={layout} />
      <KeepSelectedInView shape={shape} layout={layout} />
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
    // A group opened or closed: the whole graph again, if it can be read at that size.
    const whole = focus.whole && pane.width > 0 ? wholeGraph(layout, pane) : null;
    if (whole && whole.zoom >= READABLE_ZOOM) return void flow.setViewport(whole, { duration: 300 });
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

/**
 * The details panel docks beside the canvas, which narrows: the task it describes must stay in sight.
 * When a task is selected, or the canvas changes size, and the task's box is not wholly on screen,
 * the view moves (at the same zoom) to centre it.
 */
function KeepSelectedInView({ shape, layout }: { shape: GraphShape; layout: LayoutResult }) {
  const { selected } = use(GraphMarksContext);
  const flow = useReactFlow();
  const pane = useStore((s) => ({ width: s.width, height: s.height }), sameSize);
  useEffect(() => {
    if (!selected || pane.width === 0) return;
    const i = shape.ids.indexOf(selected);
    if (i < 0) return;
    const { x, y, zoom } = flow.getViewport();
    const [w, h] = [
      Math.min(layout.ws?.[i] ?? NODE_WIDTH, NODE_WIDTH * 2),
      Math.min(layout.hs?.[i] ?? NODE_HEIGHT, 200),
    ];
    const left = layout.xs[i]! * zoom + x;
    const top = layout.ys[i]! * zoom + y;
    const inside = left >= 0 && top >= 0 && left + w * zoom <= pane.width && top + h * zoom <= pane.height;
    if (!inside) void flow.setCenter(layout.xs[i]! + w / 2, layout.ys[i]! + h / 2, { zoom, duration: 200 });
  }, [selected, pane, shape, layout, flow]);
  return null;
}

const sameSize = (a: { width: number; height: number }, b: { width: number; height: number }) =>
  a.width === b.width && a.height === b.height;
