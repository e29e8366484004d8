/**
 * ELK's layered layout, off the main thread, for graphs of up to ELK_MAX_NODES tasks (see
 * useLayout.ts). A worker of its own because elk.bundled.js is 1.4 MB of script: the fast layout's
 * worker stays small and starts at once, and this one loads only when a graph is small enough for ELK.
 */
import ELK from "elkjs/lib/elk.bundled.js";
import type { ElkNode } from "elkjs/lib/elk-api";
import { answerWith } from "./answer.ts";
import type { LayoutRequest, LayoutResult } from "./types.ts";

const ELK_OPTIONS = {
  "elk.algorithm": "layered",
  "elk.direction": "RIGHT",
  "elk.layered.nodePlacement.strategy": "BRANDES_KOEPF",
  "elk.layered.crossingMinimization.strategy": "LAYER_SWEEP",
  "elk.layered.thoroughness": "4",
  "elk.edgeRouting": "POLYLINE",
};

const elk = new ELK();

async function elkLayout(request: LayoutRequest): Promise<LayoutResult> {
  const { ids, edges, nodeWidth, nodeHeight, columnGap, rowGap } = request;
  const graph: ElkNode = {
    id: "root",
    layoutOptions: {
      ...ELK_OPTIONS,
      "elk.spacing.nodeNode": String(rowGap),
      "elk.layered.spacing.nodeNodeBetweenLayers": String(columnGap),
    },
    children: ids.map((id) => ({ id, width: nodeWidth, height: nodeHeight })),
    edges: Array.from({ length: edges.length / 2 }, (_, e) => ({
      id: `e${e}`,
      sources: [ids[edges[2 * e]!]!],
      targets: [ids[edges[2 * e + 1]!]!],
    })),
  };
  const out = await elk.layout(graph);
  const position = new Map((out.children ?? []).map((c) => [c.id, c] as const));
  const xs = Float64Array.from(ids, (id) => position.get(id)?.x ?? 0);
  const ys = Float64Array.from(ids, (id) => position.get(id)?.y ?? 0);
  return { xs, ys, width: out.width ?? 0, height: out.height ?? 0, engine: "elk" };
}

self.onmessage = answerWith(elkLayout);
