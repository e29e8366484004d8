/** What the graph view sends its layout worker and what comes back. */

export interface LayoutRequest {
  /** Identifies the answer (the view may have moved on to another DAG meanwhile). */
  key: string;
  ids: string[];
  /** Pairs of indexes into `ids`: source, target, source, target... */
  edges: Int32Array;
  nodeWidth: number;
  nodeHeight: number;
  columnGap: number;
  rowGap: number;
  /** With task groups: each node's KIND (groups.ts); boxes (expanded groups) hold, join nodes are small. */
  kinds?: Uint8Array;
  /** With task groups: the index of the box each node is inside, or -1. */
  parents?: Int32Array;
}

export interface LayoutResult {
  /** Top-left corners, aligned with the request's `ids`. */
  xs: Float64Array;
  ys: Float64Array;
  width: number;
  height: number;
  /** With task groups: each node's size (boxes are as big as what they hold). */
  ws?: Float64Array;
  hs?: Float64Array;
  /** Which layout ran: ELK's layered algorithm, or the fast layered fallback for big graphs. */
  engine: "elk" | "layered";
}

export type LayoutAnswer =
  ({ key: string; ok: true; ms: number } & LayoutResult) | { key: string; ok: false; error: string };
