/** The graph's run picker: the DAG's recent runs (newest first), the one chosen coloured on the graph. */
import { useQuery } from "@tanstack/react-query";
import { api, isNotFound, must } from "../../../api.ts";
import { LIVE_STATES } from "../../../components/StateBadge.tsx";
import type { components } from "../../../../../updraft/src/api/generated/airflow-v2.ts";

type Run = components["schemas"]["DAGRunResponse"];
const RECENT = 25;

/** The recent runs, polled while the run on screen (or the newest) is still going. */
export function useRecentRuns(dagId: string, runId: string | null) {
  return useQuery({
    // under ["runs", dagId] so triggering a run (which invalidates that) refreshes the picker too
    queryKey: ["runs", dagId, "recent", RECENT],
    queryFn: async () =>
      must(
        await api.GET("/api/v2/dags/{dag_id}/dagRuns", {
          params: { path: { dag_id: dagId }, query: { limit: RECENT, order_by: ["-run_after"] } },
        }),
      ).dag_runs,
    refetchInterval: (query) => {
      const runs = query.state.data ?? [];
      const shown = runs.find((r) => r.dag_run_id === runId) ?? (runId ? undefined : runs[0]);
      return shown && !LIVE_STATES.has(shown.state) && shown.state !== "running" ? false : 3000;
    },
  });
}

/**
 * A run named in the URL but not among the recent ones: read on its own, so an older run is offered
 * and an unknown one is said to be unknown (not silently offered).
 */
function useNamedRun(dagId: string, runId: string | null, ask: boolean) {
  return useQuery({
    queryKey: ["runs", dagId, "one", runId],
    queryFn: async () =>
      must(
        await api.GET("/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}", {
          params: { path: { dag_id: dagId, dag_run_id: runId! } },
        }),
      ),
    enabled: ask,
  });
}

export function RunPicker({
  dagId,
  runs,
  runId,
  loaded,
  onPick,
}: {
  dagId: string;
  runs: Run[];
  runId: string | null;
  /** The recent runs have been read (before, a run not among them may still be). */
  loaded: boolean;
  onPick: (runId: string) => void;
}) {
  const known = runs.some((r) => r.dag_run_id === runId);
  const named = useNamedRun(dagId, runId, loaded && runId !== null && !known);
  const unknown = !known && isNotFound(named.error);
  return (
    <label className="graph-run-picker">
      Run{" "}
      <select value={runId ?? ""} onChange={(e) => onPick(e.target.value)} disabled={!runs.length && !runId}>
        {!runId && <option value="">no runs yet</option>}
        {runId && !known && (
          <option value={runId} disabled={unknown}>
            {unknown ? `${runId} (no such run)` : runId}
          </option>
        )}
        {runs.map((r) => (
          <option key={r.dag_run_id} value={r.dag_run_id}>
            {r.dag_run_id} · {r.state}
            {r.dag_versions[0] ? ` · v${r.dag_versions[0].version_number}` : ""}
          </option>
        ))}
      </select>
      {unknown && (
        <span role="alert" className="error" data-testid="unknown-run">
          {" "}
          {dagId} has no run “{runId}”: pick one of its runs
        </span>
      )}
    </label>
  );
}
