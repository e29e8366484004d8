/**
 * A run's DAG callbacks and deadlines from Updraft's UI API
 * (`GET /ui/dags/{dag_id}/dagRuns/{dag_run_id}/callbacks`). Typed here because the UI's client is
 * generated from Airflow's public spec, which has no such endpoint; the same client (session, CSRF)
 * is used.
 */
import { useQuery } from "@tanstack/react-query";
import type { Client } from "openapi-fetch";
import { api, must } from "../../api.ts";

export interface RunCallback {
  id: number;
  event: "dag_success" | "dag_failure" | "deadline_missed";
  state: "queued" | "running" | "success" | "failed";
  reason: string | null;
  task_id?: string | null;
  deadline_index?: number | null;
  attempts: number;
  error: string | null;
  created_at: string;
  finished_at: string | null;
}

export interface RunDeadline {
  index: number;
  reference?: "logical_date" | "queued_at" | "fixed_datetime" | null;
  interval?: number | null;
  deadline_time: string;
  status: "pending" | "met" | "missed";
  handled_at: string | null;
}

export interface RunCallbacks {
  callbacks: RunCallback[];
  deadlines: RunDeadline[];
}

type Json<T> = { content: { "application/json": T } };
interface CallbackPaths {
  "/ui/dags/{dag_id}/dagRuns/{dag_run_id}/callbacks": {
    get: {
      parameters: { path: { dag_id: string; dag_run_id: string } };
      responses: { 200: Json<RunCallbacks>; 404: Json<{ detail: unknown }> };
    };
  };
}

const callbacksApi = api as unknown as Client<CallbackPaths>;

const UNSETTLED = new Set(["queued", "running"]);

/** The run's callbacks and deadlines, read again every few seconds while any is still to come. */
export function useRunCallbacks(dagId: string, runId: string) {
  return useQuery({
    queryKey: ["run-callbacks", dagId, runId],
    queryFn: async () =>
      must(
        await callbacksApi.GET("/ui/dags/{dag_id}/dagRuns/{dag_run_id}/callbacks", {
          params: { path: { dag_id: dagId, dag_run_id: runId } },
        }),
      ),
    refetchInterval: (q) =>
      q.state.data?.callbacks.some((c) => UNSETTLED.has(c.state)) ||
      q.state.data?.deadlines.some((d) => d.status === "pending")
        ? 3000
        : false,
  });
}
