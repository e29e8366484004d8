/**
 * Lays out a DAG's tasks in the layout worker and remembers the answer for the session, keyed by the
 * DAG and its shape (task ids and edges), so coming back to the graph does not lay it out again.
 */
import { useEffect, useState } from "react";
import type { LayoutAnswer, LayoutRequest } from "./types.ts";

export const NODE_WIDTH = 200;
export const NODE_HEIGHT = 44;

export interface GraphShape {
  ids: string[];
  edges: Int32Array;
  /** With task groups: how each node is drawn and the box it is in (groups.ts, VisibleGraph). */
  kinds?: Uint8Array;
  parents?: Int32Array;
}

/** Up to this many tasks ELK lays the graph out (well under a second); above, the fast layout. */
export const ELK_MAX_NODES = 300;

const done = new Map<string, LayoutAnswer>();
const waiting = new Map<string, ((answer: LayoutAnswer) => void)[]>();
const workers: { fast?: Worker; elk?: Worker } = {};

function settle(event: MessageEvent<LayoutAnswer>) {
  const answer = event.data;
  if (answer.ok) done.set(answer.key, answer);
  for (const resolve of waiting.get(answer.key) ?? []) resolve(answer);
  waiting.delete(answer.key);
}

/** The workers start with the graph view, so their scripts load while the tasks are being read. */
function layoutWorker(which: "fast" | "elk"): Worker {
  const existing = workers[which];
  if (existing) return existing;
  const worker =
    which === "fast"
      ? new Worker(new URL("./layout.worker.ts", import.meta.url), { type: "module" })
      : new Worker(new URL("./elk.worker.ts", import.meta.url), { type: "module" });
  worker.onmessage = settle;
  workers[which] = worker;
  return worker;
}

/** A cheap fingerprint of the shape (FNV-1a over ids and edges): the cache key's second half. */
function fingerprint({ ids, edges, kinds }: GraphShape): string {
  let h = 0x811c9dc5;
  const mix = (x: number) => (h = Math.imul(h ^ x, 0x01000193));
  for (const id of ids) for (let i = 0; i < id.length; i++) mix(id.charCodeAt(i));
  for (const e of edges) mix(e);
  for (const k of kinds ?? []) mix(k);
  return `${ids.length}:${edges.length / 2}:${(h >>> 0).toString(36)}`;
}

function requestLayout(key: string, shape: GraphShape): Promise<LayoutAnswer> {
  const cached = done.get(key);
  if (cached) return Promise.resolve(cached);
  return new Promise((resolve) => {
    const queue = waiting.get(key);
    if (queue) return queue.push(resolve);
    waiting.set(key, [resolve]);
    const request: LayoutRequest = {
      key,
      ids: shape.ids,
      edges: shape.edges,
      nodeWidth: NODE_WIDTH,
      nodeHeight: NODE_HEIGHT,
      columnGap: 64,
      rowGap: 16,
      ...(shape.kinds ? { kinds: shape.kinds, parents: shape.parents } : {}),
    };
    layoutWorker(shape.ids.length <= ELK_MAX_NODES ? "elk" : "fast").postMessage(request);
  });
}

export function useLayout(dagId: string, shape: GraphShape | undefined): LayoutAnswer | undefined {
  const key = shape ? `${dagId}|${fingerprint(shape)}` : "";
  useEffect(() => {
    layoutWorker("fast");
  }, []);
  const [answer, setAnswer] = useState<LayoutAnswer | undefined>(() => done.get(key));
  useEffect(() => {
    if (!shape) return;
    let current = true;
    void requestLayout(key, shape).then((a) => {
      if (a.ok)
        console.debug(`graph of ${shape.ids.length} nodes laid out in ${Math.round(a.ms)} ms (${a.engine})`);
      if (current) setAnswer(a);
    });
    return () => {
      current = false;
    };
  }, [key]); // the key stands for the shape
  return answer?.key === key ? answer : done.get(key);
}
