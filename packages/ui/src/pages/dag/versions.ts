/**
 * DAG versions (Airflow 3's AIP-65) as the UI reads them: the DAG's versions (newest first), the
 * source of one, and the version a run was created with (the run's graph and code are of it).
 */
import { useQuery } from "@tanstack/react-query";
import { api, must } from "../../api.ts";
import type { components } from "../../../../updraft/src/api/generated/airflow-v2.ts";

export type DagVersion = components["schemas"]["DagVersionResponse"];
type Run = Pick<components["schemas"]["DAGRunResponse"], "dag_versions">;

/** The version a run was created with (its first; Updraft records one per run), or null. */
export const runVersion = (run: Run | undefined): number | null =>
  run?.dag_versions[0]?.version_number ?? null;

export function useDagVersions(dagId: string) {
  return useQuery({
    queryKey: ["dagVersions", dagId],
    queryFn: async () =>
      must(
        await api.GET("/api/v2/dags/{dag_id}/dagVersions", {
          params: { path: { dag_id: dagId }, query: { order_by: ["-version_number"], limit: 100 } },
        }),
      ).dag_versions,
  });
}

/** One version's source (a version's text never changes once newer ones exist: cached for long). */
export function useDagSource(dagId: string, versionNumber: number | null, enabled = true) {
  return useQuery({
    queryKey: ["dagSource", dagId, versionNumber],
    enabled,
    queryFn: async () =>
      must(
        await api.GET("/api/v2/dagSources/{dag_id}", {
          params: {
            path: { dag_id: dagId },
            query: versionNumber === null ? {} : { version_number: versionNumber },
          },
        }),
      ) as { content: string | null; version_number: number | null },
  });
}
