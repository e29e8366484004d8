/**
 * A run's task instances kept current without refetching them all: one full read (in pages of the
 * API's maximum), then, while the run is live, only the task instances updated since the last read
 * (`updated_at_gte`, from the server's clock with a little overlap), merged into the cache.
 */
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect } from "react";
import { api, must } from "./api.ts";
import type { components } from "../../updraft/src/api/generated/airflow-v2.ts";

export type TaskInstance = components["schemas"]["TaskInstanceResponse"];
const PAGE = 1000;
const OVERLAP_MS = 2000;

interface RunStates {
  byTask: Map<string, TaskInstance>;
  /** The server's clock at the last read, minus the overlap: where the next poll starts. */
  since: string;
}

const serverNow = (r: Response) => {
  const date = Date.parse(r.headers.get("date") ?? "");
  return new Date((Number.isNaN(date) ? Date.now() : date) - OVERLAP_MS).toISOString();
};

async function readTis(dagId: string, runId: string, updatedSince?: string) {
  const all: TaskInstance[] = [];
  let since = "";
  for (let offset = 0; ; offset += PAGE) {
    const r = await api.GET("/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances", {
      params: {
        path: { dag_id: dagId, dag_run_id: runId },
        query: {
          limit: PAGE,
          offset,
          order_by: ["id"],
          ...(updatedSince ? { updated_at_gte: updatedSince } : {}),
        },
      },
    });
    const page = must(r);
    if (offset === 0) since = serverNow(r.response);
    all.push(...page.task_instances);
    if (offset + PAGE >= page.total_entries) return { all, since };
  }
}

export function useRunTaskInstances(dagId: string, runId: string | null | undefined, live: boolean) {
  const queries = useQueryClient();
  const key = ["runTis", dagId, runId];
  const query = useQuery({
    enabled: !!runId,
    queryKey: key,
    queryFn: async (): Promise<RunStates> => {
      const { all, since } = await readTis(dagId, runId!);
      return { byTask: new Map(all.map((ti) => [ti.task_id, ti])), since };
    },
  });
  useEffect(() => {
    if (!runId || !live) return;
    let stopped = false;
    const timer = setInterval(async () => {
      const current = queries.getQueryData<RunStates>(key);
      if (!current || stopped) return;
      const { all, since } = await readTis(dagId, runId, current.since).catch(() => ({
        all: [],
        since: current.since,
      }));
      if (stopped) return;
      if (all.length === 0) {
        queries.setQueryData<RunStates>(key, { ...current, since });
        return;
      }
      const byTask = new Map(current.byTask);
      for (const ti of all) byTask.set(ti.task_id, ti);
      queries.setQueryData<RunStates>(key, { byTask, since });
    }, 1000);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [dagId, runId, live, queries]);
  return query;
}
