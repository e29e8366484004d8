/**
 * One DAG: its latest runs, the selected run's task instances (live while the run goes) and the
 * selected task's log (tailed while it runs). The URL holds the DAG, run and task on screen.
 */
import { useQuery } from "@tanstack/react-query";
import { api } from "../../api.ts";
import { useUrlState } from "../../url.ts";

const LIVE = new Set(["queued", "running"]);

export function RunsTab({ dagId }: { dagId: string }) {
  const [params, update] = useUrlState();
  const runId = params.get("run");
  const taskId = params.get("task");
  const runs = useQuery({
    queryKey: ["runs", dagId],
    queryFn: async () =>
      (
        await api.GET("/api/v2/dags/{dag_id}/dagRuns", {
          params: { path: { dag_id: dagId }, query: { limit: 25, order_by: ["-run_after"] } },
        })
      ).data,
    refetchInterval: (q) => (q.state.data?.dag_runs.some((r) => LIVE.has(r.state)) ? 2000 : false),
  });
  const selected = runs.data?.dag_runs.find((r) => r.dag_run_id === runId) ?? runs.data?.dag_runs[0];
  const tis = useQuery({
    enabled: !!selected,
    queryKey: ["tis", dagId, selected?.dag_run_id],
    queryFn: async () =>
      (
        await api.GET("/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances", {
          params: { path: { dag_id: dagId, dag_run_id: selected!.dag_run_id }, query: { limit: 100 } },
        })
      ).data,
    refetchInterval: selected && LIVE.has(selected.state) ? 1000 : false,
  });
  const ti = tis.data?.task_instances.find((t) => t.task_id === taskId);
  const log = useQuery({
    enabled: !!ti && ti.try_number > 0,
    queryKey: ["log", dagId, selected?.dag_run_id, taskId, ti?.try_number],
    queryFn: async () => {
      const r = await api.GET(
        "/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/logs/{try_number}",
        {
          params: {
            path: {
              dag_id: dagId,
              dag_run_id: selected!.dag_run_id,
              task_id: ti!.task_id,
              try_number: ti!.try_number,
            },
            query: { full_content: true },
          },
          headers: { accept: "application/json" },
        },
      );
      const content = (r.data as { content?: unknown[] } | undefined)?.content ?? [];
      return content.map((line) =>
        typeof line === "string" ? line : ((line as { event?: string }).event ?? ""),
      );
    },
    refetchInterval: ti && LIVE.has(ti.state ?? "") ? 1000 : false,
  });
  return (
    <>
      <div className="columns">
        <section aria-label="Runs">
          <h2>Runs</h2>
          <ul className="list">
            {runs.data?.dag_runs.map((r) => (
              <li key={r.dag_run_id}>
                <button
                  className={r.dag_run_id === selected?.dag_run_id ? "selected" : ""}
                  onClick={() => update({ run: r.dag_run_id, task: null })}
                >
                  <span className={`state ${r.state}`}>{r.state}</span> {r.dag_run_id}
                </button>
              </li>
            ))}
          </ul>
        </section>
        <section aria-label="Task instances">
          <h2>Tasks</h2>
          <ul className="list">
            {tis.data?.task_instances.map((t) => (
              <li key={t.task_id}>
                <button
                  className={t.task_id === taskId ? "selected" : ""}
                  onClick={() => update({ run: selected!.dag_run_id, task: t.task_id })}
                >
                  <span className={`state ${t.state ?? "none"}`}>{t.state ?? "no status"}</span> {t.task_id}
                  {t.try_number > 1 && <small> (try {t.try_number})</small>}
                </button>
              </li>
            ))}
          </ul>
        </section>
        <section aria-label="Log" className="log">
          <h2>{ti ? `Log of ${ti.task_id}, try ${ti.try_number}` : "Log"}</h2>
          {ti ? <pre>{log.data?.join("\n") ?? "…"}</pre> : <p className="muted">Choose a task.</p>}
        </section>
      </div>
    </>
  );
}
