/**
 * The minimap of big graphs: React Flow's MiniMap draws the nodes it holds, and zoomed out a big graph
 * hands its nodes to the canvas (Overview.tsx), which left the MiniMap blank. This one draws the whole
 * layout once into a small bitmap (Overview's drawing) and the visible part as a frame over it; a
 * click or drag moves the view there.
 */
import { Panel, useReactFlow, useStore } from "@xyflow/react";
import { use, useEffect, useRef, type PointerEvent } from "react";
import { render } from "./Overview.tsx";
import { GraphMarksContext } from "./TaskNode.tsx";
import type { LayoutResult } from "./types.ts";
import type { GraphShape } from "./useLayout.ts";

const SIZE = { width: 200, height: 140 };

export function MiniOverview({ shape, layout }: { shape: GraphShape; layout: LayoutResult }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const { states, selected } = use(GraphMarksContext);
  const flow = useReactFlow();
  const [tx, ty, zoom] = useStore((s) => s.transform);
  const pane = useStore((s) => ({ width: s.width, height: s.height }), sameSize);
  const scale = Math.min(SIZE.width / Math.max(layout.width, 1), SIZE.height / Math.max(layout.height, 1));
  // The graph's drawing, made again only when what it draws changes (not when the view moves).
  const bitmap = useRef<HTMLCanvasElement | null>(null);
  useEffect(() => {
    bitmap.current = canvas.current ? render(canvas.current, scale, shape, layout, states, selected) : null;
  }, [scale, shape, layout, states, selected]);
  useEffect(() => {
    const el = canvas.current;
    if (!el) return;
    const dpr = window.devicePixelRatio || 1;
    el.width = SIZE.width * dpr;
    el.height = SIZE.height * dpr;
    const ctx = el.getContext("2d")!;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, SIZE.width, SIZE.height);
    if (bitmap.current) ctx.drawImage(bitmap.current, 0, 0);
    // What is on screen, in graph coordinates, then in the minimap's.
    const [x, y] = [-tx / zoom, -ty / zoom];
    ctx.strokeStyle = getComputedStyle(el).getPropertyValue("--accent").trim() || "#36f";
    ctx.lineWidth = 1.5;
    ctx.strokeRect(x * scale, y * scale, (pane.width / zoom) * scale, (pane.height / zoom) * scale);
  }, [tx, ty, zoom, pane, scale, shape, layout, states, selected]);
  const moveTo = (event: PointerEvent<HTMLCanvasElement>) => {
    if (event.type === "pointermove" && event.buttons !== 1) return;
    const box = event.currentTarget.getBoundingClientRect();
    const [gx, gy] = [(event.clientX - box.left) / scale, (event.clientY - box.top) / scale];
    void flow.setViewport({ zoom, x: pane.width / 2 - gx * zoom, y: pane.height / 2 - gy * zoom });
  };
  return (
    <Panel position="bottom-right" className="graph-minimap">
      <canvas
        ref={canvas}
        style={SIZE}
        role="img"
        aria-label="Graph overview"
        data-testid="graph-minimap"
        onPointerDown={moveTo}
        onPointerMove={moveTo}
      />
    </Panel>
  );
}

const sameSize = (a: { width: number; height: number }, b: { width: number; height: number }) =>
  a.width === b.width && a.height === b.height;
