/**
 * The grid's rows: the DAG's tasks and task groups in the structure's order (upstream before
 * downstream), read once from the structure endpoint. A group is one row standing for its tasks until
 * it is expanded; then its tasks (and inner groups) follow it, indented.
 */
import { useMemo } from "react";
import { gridRows, indexStructure, type GridRowItem } from "../groups.ts";
import { useStructure } from "../structure-api.ts";

export function useGridRows(dagId: string, expanded: ReadonlySet<string>) {
  const structure = useStructure(dagId);
  const index = useMemo(
    () => (structure.data ? indexStructure(structure.data) : undefined),
    [structure.data],
  );
  const rows = useMemo<GridRowItem[] | undefined>(
    () => (structure.data && index ? gridRows(structure.data, index, expanded) : undefined),
    [structure.data, index, expanded],
  );
  return { rows, groups: index?.groups, error: structure.error };
}

/** A cheap fingerprint (FNV-1a) of a block's task ids: blocks are cached per set of rows. */
export function idsKey(ids: readonly string[]): string {
  let h = 0x811c9dc5;
  for (const id of ids) {
    for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
    h = Math.imul(h ^ 10, 0x01000193);
  }
  return `${ids.length}:${(h >>> 0).toString(36)}`;
}
