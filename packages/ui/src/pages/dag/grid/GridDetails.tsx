/**
 * The grid's details pane, beside the grid (Airflow 3's): a selected task instance (`?run=&task=`,
 * `&map_index=` for one mapped instance) with its actions, tries, XCom, templates and log; or a
 * selected run (`?run=` alone) with its facts, note, actions and failed tasks. Escape or the close
 * button closes it; the full page stays a link away.
 */
import { useQuery } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { api, mayEditDags, must, useRole } from "../../../api.ts";
import { LIVE_STATES, StateBadge } from "../../../components/StateBadge.tsx";
import { formatDate, formatDuration } from "../../../components/time.ts";
import { hrefs, Link } from "../../../router.tsx";
import { useUrlState } from "../../../url.ts";
import { TaskInstanceView } from "../../task-instance/TaskInstanceView.tsx";
import { RunNote } from "../Runs.tsx";
import { runVersion } from "../versions.ts";
import { runSeconds } from "./GridRow.tsx";
import type { Run } from "./blocks.ts";
import { RunActionDialog, type RunAction } from "./RunActionDialog.tsx";

/** The selection the pane shows, from the URL; null when nothing is selected. */
export function useGridSelection() {
  const [params, update] = useUrlState();
  const runId = params.get("run");
  const taskId = params.get("task");
  const mapIndex = params.get("map_index") === null ? -1 : Number(params.get("map_index"));
  const select = (run: string | null, task: string | null = null, map: number = -1) =>
    update({ run, task, map_index: map >= 0 ? String(map) : null, try: null });
  return { runId, taskId, mapIndex, select };
}

export function GridDetails({ dagId }: { dagId: string }) {
  const { runId, taskId, mapIndex, select } = useGridSelection();
  const close = () => select(taskId ? runId : null);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      // Escape inside a dialog closes the dialog, not the pane.
      if (e.key === "Escape" && !document.querySelector("dialog[open]")) close();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  });
  if (!runId) return null;
  const tiKey = taskId ? { dagId, runId, taskId, mapIndex } : null;
  const title = tiKey ? `${taskId}${mapIndex >= 0 ? ` [${mapIndex}]` : ""}` : `Run ${runId}`;
  return (
    <aside className="grid-pane" aria-label={tiKey ? "Task instance details" : "Run details"}>
      <header className="toolbar grid-pane-head">
        <h2>{title}</h2>
        {tiKey && <span className="muted grid-pane-run">{runId}</span>}
        <span className="spacer" />
        <Link
          href={
            tiKey
              ? hrefs.taskInstance(dagId, runId, taskId!, mapIndex >= 0 ? { map_index: mapIndex } : undefined)
              : hrefs.dag(dagId, { tab: "runs", run: runId })
          }
        >
          Open page
        </Link>
        <button type="button" aria-label="Close details" onClick={close}>
          ✕
        </button>
      </header>
      {tiKey ? (
        <TaskInstanceView
          key={`${runId}\n${taskId}\n${mapIndex}`}
          tiKey={tiKey}
          layout="pane"
          onDeleted={close}
        />
      ) : (
        <RunDetails dagId={dagId} runId={runId} onSelectTask={(t, m) => select(runId, t, m)} />
      )}
    </aside>
  );
}

function useRun(dagId: string, runId: string) {
  return useQuery({
    queryKey: ["runs", dagId, "one", runId],
    queryFn: async () =>
      must(
        await api.GET("/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}", {
          params: { path: { dag_id: dagId, dag_run_id: runId } },
        }),
      ),
    refetchInterval: (q) => (!q.state.data || LIVE_STATES.has(q.state.data.state) ? 2000 : false),
  });
}

function RunDetails({
  dagId,
  runId,
  onSelectTask,
}: {
  dagId: string;
  runId: string;
  onSelectTask: (taskId: string, mapIndex: number) => void;
}) {
  const run = useRun(dagId, runId);
  const canEdit = mayEditDags(useRole());
  const [action, setAction] = useState<RunAction | null>(null);
  if (run.isError)
    return (
      <p role="alert" className="error">
        Run {runId}: {run.error.message}
      </p>
    );
  const r = run.data;
  if (!r) return <p className="muted">Loading the run…</p>;
  return (
    <div className="grid-pane-body">
      {canEdit && (
        <div className="toolbar ti-actions" role="toolbar" aria-label={`Actions on run ${runId}`}>
          <button type="button" onClick={() => setAction({ kind: "clear", run: r })}>
            Clear
          </button>
          <button type="button" onClick={() => setAction({ kind: "success", run: r })}>
            Mark success
          </button>
          <button type="button" onClick={() => setAction({ kind: "failed", run: r })}>
            Mark failed
          </button>
          <button type="button" className="danger" onClick={() => setAction({ kind: "delete", run: r })}>
            Delete
          </button>
        </div>
      )}
      <RunFacts run={r} />
      <FailedTasks dagId={dagId} run={r} onSelect={onSelectTask} />
      <RunNote dagId={dagId} runId={runId} run={r} canEdit={canEdit} />
      <RunActionDialog dagId={dagId} action={action} onClose={() => setAction(null)} />
    </div>
  );
}

function RunFacts({ run }: { run: Run }) {
  const conf = run.conf && Object.keys(run.conf).length > 0 ? JSON.stringify(run.conf, null, 2) : null;
  return (
    <section className="ti-card" aria-label="Run">
      <dl className="ti-facts">
        <dt>State</dt>
        <dd>
          <StateBadge state={run.state} />
        </dd>
        <dt>Type</dt>
        <dd>{run.run_type}</dd>
        <dt>Logical date</dt>
        <dd>{formatDate(run.logical_date)}</dd>
        <dt>Run after</dt>
        <dd>{formatDate(run.run_after)}</dd>
        <dt>Started</dt>
        <dd>{formatDate(run.start_date)}</dd>
        <dt>Ended</dt>
        <dd>{formatDate(run.end_date)}</dd>
        <dt>Duration</dt>
        <dd>{run.start_date ? formatDuration(runSeconds(run)) : "–"}</dd>
        <dt>DAG version</dt>
        <dd>{runVersion(run) ?? "–"}</dd>
        <dt>Triggered by</dt>
        <dd>{run.triggered_by ?? "–"}</dd>
      </dl>
      {conf && (
        <>
          <h3>Conf</h3>
          <pre className="grid-pane-conf">{conf}</pre>
        </>
      )}
    </section>
  );
}

/** The run's failed (and upstream failed) task instances, each opening in the pane. */
export function useFailedTasks(dagId: string, runId: string, enabled = true) {
  return useQuery({
    queryKey: ["runs", dagId, "failedTasks", runId],
    enabled,
    queryFn: async () =>
      must(
        await api.GET("/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances", {
          params: {
            path: { dag_id: dagId, dag_run_id: runId },
            query: { state: ["failed", "upstream_failed"], limit: 100, order_by: ["state", "start_date"] },
          },
        }),
      ),
  });
}

function FailedTasks({
  dagId,
  run,
  onSelect,
}: {
  dagId: string;
  run: Run;
  onSelect: (taskId: string, mapIndex: number) => void;
}) {
  const failed = useFailedTasks(dagId, run.dag_run_id);
  const list = failed.data?.task_instances ?? [];
  return (
    <section className="ti-card" aria-label="Failed tasks">
      <h2>Failed tasks{failed.data ? ` (${failed.data.total_entries})` : ""}</h2>
      {failed.isError && (
        <p role="alert" className="error">
          {failed.error.message}
        </p>
      )}
      {failed.data && list.length === 0 && <p className="muted">No task failed in this run.</p>}
      <ul className="grid-failed">
        {list.map((ti) => (
          <li key={`${ti.task_id}:${ti.map_index}`}>
            <StateBadge state={ti.state} />{" "}
            <button type="button" className="link" onClick={() => onSelect(ti.task_id, ti.map_index)}>
              {ti.task_id}
              {ti.map_index >= 0 ? ` [${ti.map_index}]` : ""}
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
