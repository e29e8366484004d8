/**
 * ELK's layered layout, off the main thread, for graphs of up to ELK_MAX_NODES tasks (see
 * useLayout.ts). A worker of its own because elk.bundled.js is 1.4 MB of script: the fast layout's
 * worker stays small and starts at once, and this one loads only when a graph is small enough for ELK.
 * An expanded task group is an ELK node holding its children, so ELK keeps them together in a box.
 */
import ELK from "elkjs/lib/elk.bundled.js";
import type { ElkNode } from "elkjs/lib/elk-api";
import { KIND } from "../groups.ts";
import { answerWith } from "./answer.ts";
import { BOX_PAD, fit, sizeOf } from "./boxes.ts";
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

/** The request's nodes as ELK's tree: boxes hold the nodes whose parent they are. */
function elkTree(request: LayoutRequest): { roots: ElkNode[]; nodes: ElkNode[] } {
  const { ids, kinds, parents } = request;
  const nodes: ElkNode[] = ids.map((id, i) => {
    const [width, height] = sizeOf(kinds?.[i], request);
    if (kinds?.[i] !== KIND.box) return { id, width, height };
    const padding = `[top=${BOX_PAD.top},left=${BOX_PAD.side},bottom=${BOX_PAD.bottom},right=${BOX_PAD.side}]`;
    return { id, width, height, children: [], layoutOptions: { "elk.padding": padding } };
  });
  const roots: ElkNode[] = [];
  nodes.forEach((node, i) => {
    const parent = parents?.[i] ?? -1;
    if (parent < 0) roots.push(node);
    else nodes[parent]!.children!.push(node);
  });
  return { roots, nodes };
}

async function elkLayout(request: LayoutRequest): Promise<LayoutResult> {
  const { ids, edges, columnGap, rowGap } = request;
  const { roots } = elkTree(request);
  const graph: ElkNode = {
    id: "root",
    layoutOptions: {
      ...ELK_OPTIONS,
      "elk.spacing.nodeNode": String(rowGap),
      "elk.layered.spacing.nodeNodeBetweenLayers": String(columnGap),
      // Edges cross box borders: lay out the whole hierarchy at once.
      ...(request.kinds ? { "elk.hierarchyHandling": "INCLUDE_CHILDREN" } : {}),
    },
    children: roots,
    edges: Array.from({ length: edges.length / 2 }, (_, e) => ({
      id: `e${e}`,
      sources: [ids[edges[2 * e]!]!],
      targets: [ids[edges[2 * e + 1]!]!],
    })),
  };
  const out = await elk.layout(graph);
  // ELK places children relative to their parent: add the parents' offsets up the tree.
  const placed = new Map<string, { x: number; y: number; w: number; h: number }>();
  const walk = (node: ElkNode, dx: number, dy: number) => {
    const [x, y] = [dx + (node.x ?? 0), dy + (node.y ?? 0)];
    placed.set(node.id, { x, y, w: node.width ?? 0, h: node.height ?? 0 });
    for (const child of node.children ?? []) walk(child, x, y);
  };
  for (const child of out.children ?? []) walk(child, 0, 0);
  const at = (id: string) => placed.get(id) ?? { x: 0, y: 0, w: 0, h: 0 };
  const xs = Float64Array.from(ids, (id) => at(id).x);
  const ys = Float64Array.from(ids, (id) => at(id).y);
  if (!request.kinds) return { xs, ys, width: out.width ?? 0, height: out.height ?? 0, engine: "elk" };
  const ws = Float64Array.from(ids, (id) => at(id).w);
  const hs = Float64Array.from(ids, (id) => at(id).h);
  return { ...fit(xs, ys, ws, hs), ws, hs, engine: "elk" };
}

self.onmessage = answerWith(elkLayout);
