/**
 * A task instance's details: its actions (clear, mark success or failed, delete: for users who may
 * edit DAGs), state and timings, note, tries, what keeps it from running, rendered templates, XCom
 * and the log of the selected try (`?try=N`, the latest by default), followed live while it runs.
 * The task instance page shows it under its breadcrumbs; the grid shows it in a pane beside itself.
 */
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api, isNotFound, useRole, mayEditDags, must } from "../../api.ts";
import { ClearDialog } from "../../components/ClearDialog.tsx";
import { MarkDialog } from "../../components/MarkDialog.tsx";
import { NoteEditor } from "../../components/NoteEditor.tsx";
import { LIVE_STATES } from "../../components/StateBadge.tsx";
import { ConfirmDelete } from "../admin/common.tsx";
import { hrefs, Link } from "../../router.tsx";
import { useUrlState } from "../../url.ts";
import { LogView } from "./LogView.tsx";
import {
  Dependencies,
  MappedInstances,
  Rendered,
  Summary,
  TaskDocs,
  Tries,
  XComs,
  type TiKey,
} from "./Sections.tsx";
import { ExtraLinks, Waiting } from "./Waits.tsx";
import "./task-instance.css";

const FINISHED = new Set(["success", "failed", "skipped", "upstream_failed", "removed"]);
type Action = "clear" | "success" | "failed" | "delete" | null;

/** The task instance (a mapped task's instance when `mapIndex` >= 0), polled while it can change. */
export function useTaskInstance(key: TiKey & { mapIndex: number }) {
  const { dagId, runId, taskId, mapIndex } = key;
  return useQuery({
    queryKey: ["ti", dagId, runId, taskId, mapIndex],
    queryFn: async () =>
      mapIndex >= 0
        ? must(
            await api.GET("/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/{map_index}", {
              params: { path: { dag_id: dagId, dag_run_id: runId, task_id: taskId, map_index: mapIndex } },
            }),
          )
        : must(
            await api.GET("/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}", {
              params: { path: { dag_id: dagId, dag_run_id: runId, task_id: taskId } },
            }),
          ),
    // Polled only while it can still change by itself; a task instance that does not exist will not
    // appear by waiting (a task the run never had), so a 404 ends the polling.
    refetchInterval: (q) => {
      if (isNotFound(q.state.error)) return false;
      const state = q.state.data?.state ?? null;
      return state === null || LIVE_STATES.has(state) ? 1500 : false;
    },
  });
}

/** `pane`: one column, for the grid's side pane; `page`: facts beside tries, as the page shows them. */
export function TaskInstanceView({
  tiKey,
  layout = "page",
  onDeleted,
}: {
  tiKey: TiKey & { mapIndex: number };
  layout?: "page" | "pane";
  onDeleted?: () => void;
}) {
  const { dagId, runId, taskId, mapIndex } = tiKey;
  const [params, update] = useUrlState();
  const [action, setAction] = useState<Action>(null);
  const queries = useQueryClient();
  const ti = useTaskInstance(tiKey);
  const mapped = mapIndex < 0 && ti.isError && /is mapped/.test(ti.error.message);
  const changed = () => {
    void queries.invalidateQueries({ queryKey: ["ti", dagId, runId] });
    void queries.invalidateQueries({ queryKey: ["runTis", dagId] });
    void queries.invalidateQueries({ queryKey: ["runs", dagId] });
    void queries.invalidateQueries({ queryKey: ["gridCells", dagId] });
    void queries.invalidateQueries({ queryKey: ["gridStateTasks", dagId] });
  };
  const data = ti.data;
  const finished = FINISHED.has(data?.state ?? "");
  const selectedTry = Number(params.get("try")) || data?.try_number || 0;
  const canEdit = mayEditDags(useRole());
  const name = `${taskId}${mapIndex >= 0 ? ` [${mapIndex}]` : ""}`;
  return (
    <div className={`ti-view ti-view-${layout}`}>
      {canEdit && data && (
        <div className="toolbar ti-actions" role="toolbar" aria-label={`Actions on ${name}`}>
          <button type="button" onClick={() => setAction("clear")}>
            Clear
          </button>
          <button type="button" onClick={() => setAction("success")}>
            Mark success
          </button>
          <button type="button" onClick={() => setAction("failed")}>
            Mark failed
          </button>
          <button type="button" className="danger" onClick={() => setAction("delete")}>
            Delete
          </button>
        </div>
      )}
      {mapped && <MappedInstances tiKey={tiKey} />}
      {isNotFound(ti.error) && !mapped && (
        <section className="ti-card not-found" role="alert" aria-label="Not found">
          <h2>No such task instance</h2>
          <p>
            Run <code>{runId}</code> of {dagId} has no task instance <code>{taskId}</code>
            {mapIndex >= 0 ? ` [${mapIndex}]` : ""}: the task may not have existed in the DAG version that run
            used, or the run may not exist. ({ti.error?.message})
          </p>
          <p>
            <Link href={hrefs.dag(dagId, { run: runId })}>Back to {dagId}</Link>
          </p>
        </section>
      )}
      {ti.isError && !mapped && !isNotFound(ti.error) && (
        <p role="alert" className="error">
          Task instance {taskId} of {runId}: {ti.error.message}
        </p>
      )}
      {data && (
        <>
          <div className="ti-top">
            <div className="ti-side">
              <Summary ti={data} />
              <section className="ti-card" aria-label="Note">
                <h2>Note</h2>
                <NoteEditor
                  label={`${taskId} in ${runId}`}
                  note={data.note}
                  canEdit={canEdit}
                  save={async (note) =>
                    must(
                      await api.PATCH("/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}", {
                        params: {
                          path: { dag_id: dagId, dag_run_id: runId, task_id: taskId },
                          query: mapIndex >= 0 ? { map_index: mapIndex } : {},
                        },
                        body: {
                          note,
                          include_upstream: false,
                          include_downstream: false,
                          include_future: false,
                          include_past: false,
                        },
                      }),
                    )
                  }
                  onSaved={changed}
                />
              </section>
              <Waiting ti={data} />
              <ExtraLinks tiKey={tiKey} ti={data} />
              <TaskDocs tiKey={tiKey} />
            </div>
            <div className="ti-side">
              <Tries
                tiKey={tiKey}
                ti={data}
                selected={selectedTry}
                onSelect={(n) => update({ try: n === data.try_number ? null : String(n) })}
              />
              {!finished && <Dependencies tiKey={tiKey} ti={data} />}
              <Rendered fields={data.rendered_fields} />
              <XComs tiKey={tiKey} ti={data} />
            </div>
          </div>
          {selectedTry > 0 ? (
            <LogView key={`${name}:${selectedTry}`} tryKey={{ ...tiKey, tryNumber: selectedTry }} />
          ) : (
            <section className="ti-card" aria-label="Log">
              <h2>Log</h2>
              <p className="muted">This task instance has not started a try yet.</p>
            </section>
          )}
        </>
      )}
      {canEdit && (
        <>
          <ClearDialog
            dagId={dagId}
            runId={runId}
            taskIds={mapIndex >= 0 ? [[taskId, mapIndex]] : [taskId]}
            open={action === "clear"}
            onClose={() => setAction(null)}
            onCleared={() => {
              update({ try: null });
              changed();
            }}
          />
          {(["success", "failed"] as const).map((state) => (
            <MarkDialog
              key={state}
              dagId={dagId}
              runId={runId}
              taskId={taskId}
              mapIndex={mapIndex}
              state={state}
              open={action === state}
              onClose={() => setAction(null)}
              onMarked={changed}
            />
          ))}
          <ConfirmDelete
            title={`Delete task instance ${name}`}
            open={action === "delete"}
            onClose={() => setAction(null)}
            onConfirm={async () => {
              must(
                await api.DELETE("/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}", {
                  params: {
                    path: { dag_id: dagId, dag_run_id: runId, task_id: taskId },
                    query: mapIndex >= 0 ? { map_index: mapIndex } : {},
                  },
                }),
              );
              changed();
              onDeleted?.();
            }}
          >
            <p>
              Delete task instance <code>{name}</code> of run <code>{runId}</code>? Its state, tries and XComs
              go; clearing the run creates it again.
            </p>
          </ConfirmDelete>
        </>
      )}
    </div>
  );
}
