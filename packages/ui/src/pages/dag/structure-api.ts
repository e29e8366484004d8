/**
 * The DAG's structure from Airflow 3's UI API (`GET /ui/structure/structure_data`): its tasks and
 * task groups as a tree, and the edges the graph draws (through a group's join nodes where a
 * dependency was set on the group). Typed here because Airflow's public spec, from which the UI's
 * client is generated, does not describe its UI API; the same client (session, CSRF) is used.
 */
import { useQuery } from "@tanstack/react-query";
import type { Client } from "openapi-fetch";
import { api, must } from "../../api.ts";

/** Airflow's NodeResponse: a task, a group (with children) or a group's join node. */
export interface StructureNode {
  id: string;
  label: string;
  type: string;
  children?: StructureNode[] | null;
  tooltip?: string | null;
  operator?: string | null;
  ui_color?: string | null;
  ui_fgcolor?: string | null;
  /** A mapped task (or a task in a mapped group). */
  is_mapped?: boolean | null;
  setup_teardown_type?: "setup" | "teardown" | null;
}

export interface Structure {
  nodes: StructureNode[];
  edges: { source_id: string; target_id: string; is_setup_teardown?: boolean | null }[];
}

type Json<T> = { content: { "application/json": T } };
interface StructurePaths {
  "/ui/structure/structure_data": {
    get: {
      parameters: { query: { dag_id: string; version_number?: number } };
      responses: { 200: Json<Structure>; 404: Json<{ detail: unknown }> };
    };
  };
}

/** The UI's client seen through the structure endpoint's types (Airflow's public spec has no UI API). */
const structureApi = api as unknown as Client<StructurePaths>;

/** The newest version's structure, or (a run's graph) that of `versionNumber`. */
export function useStructure(dagId: string, versionNumber: number | null = null) {
  return useQuery({
    queryKey: ["structure", dagId, versionNumber],
    queryFn: async () =>
      must(
        await structureApi.GET("/ui/structure/structure_data", {
          params: {
            query:
              versionNumber === null ? { dag_id: dagId } : { dag_id: dagId, version_number: versionNumber },
          },
        }),
      ),
    staleTime: 60_000,
    // While another run's version loads, the graph on screen stays.
    placeholderData: (previous) => previous,
  });
}
