/**
 * A run's actions behind a confirmation: mark success or failed, clear (the server's dry run lists
 * the task instances that will be cleared before anything changes) and delete. Used by the Runs tab.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api, must } from "../../../api.ts";
import { Dialog } from "../../../components/Dialog.tsx";
import { ConfirmActions } from "../../../components/OptionChecks.tsx";
import { StateBadge } from "../../../components/StateBadge.tsx";
import type { Run, TaskInstance } from "./blocks.ts";

export type RunAction = { kind: "clear" | "success" | "failed" | "delete"; run: Run };

const TITLES = {
  clear: "Clear run",
  success: "Mark run success",
  failed: "Mark run failed",
  delete: "Delete run",
} as const;

async function perform(dagId: string, { kind, run }: RunAction, onlyFailed: boolean) {
  const path = { dag_id: dagId, dag_run_id: run.dag_run_id };
  if (kind === "clear")
    return must(
      await api.POST("/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/clear", {
        params: { path },
        body: { dry_run: false, only_failed: onlyFailed, run_on_latest_version: false },
      }),
    );
  if (kind === "delete")
    return must(await api.DELETE("/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}", { params: { path } }));
  return must(
    await api.PATCH("/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}", {
      params: { path },
      body: { state: kind },
    }),
  );
}

/** What a clear would reset: the server's dry run, nothing changed yet. */
function ClearPreview({ dagId, run, onlyFailed }: { dagId: string; run: Run; onlyFailed: boolean }) {
  const preview = useQuery({
    queryKey: ["clearPreview", dagId, run.dag_run_id, onlyFailed],
    queryFn: async () => {
      const data = must(
        await api.POST("/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/clear", {
          params: { path: { dag_id: dagId, dag_run_id: run.dag_run_id } },
          body: { dry_run: true, only_failed: onlyFailed, run_on_latest_version: false },
        }),
      );
      return "task_instances" in data ? (data.task_instances as TaskInstance[]) : [];
    },
    gcTime: 0,
  });
  if (preview.isError)
    return (
      <p role="alert" className="error">
        The preview could not be read: {preview.error.message}
      </p>
    );
  if (!preview.data) return <p className="muted">Asking the server what would be cleared…</p>;
  return (
    <>
      <p>
        {preview.data.length} task instance{preview.data.length === 1 ? "" : "s"} will be cleared and run
        again:
      </p>
      <ul className="clear-preview" aria-label="Task instances to clear">
        {preview.data.map((ti) => (
          <li key={`${ti.task_id}:${ti.map_index}`}>
            <StateBadge state={ti.state} /> <code>{ti.task_id}</code>
            {ti.map_index >= 0 && <span className="muted"> [{ti.map_index}]</span>}
          </li>
        ))}
      </ul>
    </>
  );
}

export function RunActionDialog({
  dagId,
  action,
  onClose,
}: {
  dagId: string;
  action: RunAction | null;
  onClose: () => void;
}) {
  const queries = useQueryClient();
  const [onlyFailed, setOnlyFailed] = useState(false);
  const mutation = useMutation({
    mutationFn: (a: RunAction) => perform(dagId, a, onlyFailed),
    onSuccess: () => {
      void queries.invalidateQueries({ queryKey: ["runs", dagId] });
      void queries.invalidateQueries({ queryKey: ["gridCells", dagId] });
      close();
    },
  });
  const close = () => {
    mutation.reset();
    setOnlyFailed(false);
    onClose();
  };
  const kind = action?.kind ?? "clear";
  const runId = action?.run.dag_run_id ?? "";
  const confirm = {
    clear: "Clear",
    success: "Mark success",
    failed: "Mark failed",
    delete: "Delete",
  }[kind];
  return (
    <Dialog
      title={TITLES[kind]}
      open={!!action}
      onClose={close}
      actions={
        <ConfirmActions
          onCancel={close}
          onConfirm={() => action && mutation.mutate(action)}
          disabled={mutation.isPending}
          className={kind === "delete" || kind === "failed" ? "danger" : "primary"}
        >
          {confirm}
        </ConfirmActions>
      }
    >
      {action && (
        <>
          <p>
            Run <code>{runId}</code> is <StateBadge state={action.run.state} />
          </p>
          {kind === "clear" && (
            <>
              <label className="switch">
                <input
                  type="checkbox"
                  checked={onlyFailed}
                  onChange={(e) => setOnlyFailed(e.target.checked)}
                />
                Only failed and upstream failed tasks
              </label>
              <ClearPreview dagId={dagId} run={action.run} onlyFailed={onlyFailed} />
            </>
          )}
          {kind === "success" && (
            <p>Every task instance of the run that has not succeeded is marked success.</p>
          )}
          {kind === "failed" && (
            <p>Its running task instances are marked failed and the ones not yet finished are skipped.</p>
          )}
          {kind === "delete" && (
            <p>The run and its task instances, XComs and records are deleted. This cannot be undone.</p>
          )}
          {mutation.isError && (
            <p role="alert" className="error">
              {confirm} failed: {mutation.error.message}
            </p>
          )}
        </>
      )}
    </Dialog>
  );
}
