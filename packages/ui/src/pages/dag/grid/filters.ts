/**
 * The grid's filters, kept in the URL: a task search (`task_search`, part of a task id) and a state
 * (`task_state`: only tasks with an instance in that state, in any run). The state's tasks are read
 * from the server in one request, so the filter does not depend on which blocks are loaded.
 */
import { useQuery } from "@tanstack/react-query";
import { api, must } from "../../../api.ts";
import type { GridRowItem } from "../groups.ts";

/** The states the filter offers, Airflow's task instance states. */
export const FILTER_STATES = [
  "failed",
  "upstream_failed",
  "running",
  "queued",
  "scheduled",
  "up_for_retry",
  "up_for_reschedule",
  "deferred",
  "success",
  "skipped",
  "removed",
];

/** The most instances read to find the tasks in a state (the newest first). */
const STATE_LIMIT = 1000;

/** The ids of the tasks with an instance in `state` (in any run of the DAG); null without a state. */
export function useTasksInState(dagId: string, state: string | null) {
  return useQuery({
    queryKey: ["gridStateTasks", dagId, state],
    enabled: state !== null,
    refetchInterval: 5000,
    queryFn: async () => {
      const page = must(
        await api.GET("/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances", {
          params: {
            path: { dag_id: dagId, dag_run_id: "~" },
            query: { state: [state!], limit: STATE_LIMIT, order_by: ["-run_after"] },
          },
        }),
      );
      return new Set(page.task_instances.map((ti) => ti.task_id));
    },
  });
}

/** The rows to show: a task row when its task matches, a group's when any of its tasks does. */
export function filterRows(
  rows: GridRowItem[],
  search: string,
  inState: ReadonlySet<string> | null,
): GridRowItem[] {
  const needle = search.trim().toLowerCase();
  if (!needle && !inState) return rows;
  const matches = (taskId: string) =>
    (!needle || taskId.toLowerCase().includes(needle)) && (!inState || inState.has(taskId));
  return rows.filter((row) => (row.group ? row.tasks : [row.id]).some(matches));
}

/** The first failed task instance of `runId`, or of the newest run with one; null when none failed. */
export async function firstFailed(
  dagId: string,
  runId: string | null,
): Promise<{ runId: string; taskId: string; mapIndex: number } | null> {
  const page = must(
    await api.GET("/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances", {
      params: {
        path: { dag_id: dagId, dag_run_id: runId ?? "~" },
        query: { state: ["failed"], limit: 1, order_by: ["-run_after", "start_date"] },
      },
    }),
  );
  const ti = page.task_instances[0];
  return ti ? { runId: ti.dag_run_id, taskId: ti.task_id, mapIndex: ti.map_index } : null;
}
