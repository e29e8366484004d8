/**
 * Clearing task instances, with confirmation: the options (upstream, downstream, only failed, past,
 * future) are sent first as a dry run, whose answer is the preview of exactly what will be cleared;
 * Confirm sends the same request for real. Used by the task instance page, the grid, graph and runs.
 */
import { useMutation, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { api, must } from "../api.ts";
import type { components } from "../../../updraft/src/api/generated/airflow-v2.ts";
import { Dialog } from "./Dialog.tsx";
import { ConfirmActions, OptionChecks } from "./OptionChecks.tsx";
import { PreviewTable, type TaskInstanceRow } from "./MarkDialog.tsx";
import "./ti-actions.css";

type ClearBody = components["schemas"]["ClearTaskInstancesBody"];

interface ClearOptions {
  include_upstream: boolean;
  include_downstream: boolean;
  only_failed: boolean;
  include_past: boolean;
  include_future: boolean;
}

const OPTION_LABELS: [keyof ClearOptions, string][] = [
  ["include_upstream", "Upstream"],
  ["include_downstream", "Downstream"],
  ["only_failed", "Only failed"],
  ["include_past", "Past runs"],
  ["include_future", "Future runs"],
];

export function ClearDialog({
  dagId,
  runId,
  taskIds,
  open,
  onClose,
  onCleared,
}: {
  dagId: string;
  /** The run whose task instances are cleared; null clears across runs. */
  runId: string | null;
  /** The tasks to clear ([task id, map index] for one mapped instance); null clears every task of the run. */
  taskIds: (string | [string, number])[] | null;
  open: boolean;
  onClose: () => void;
  onCleared?: (cleared: TaskInstanceRow[]) => void;
}) {
  const [options, setOptions] = useState<ClearOptions>({
    include_upstream: false,
    include_downstream: taskIds !== null,
    only_failed: false,
    include_past: false,
    include_future: false,
  });
  const body = (dryRun: boolean): ClearBody => ({
    ...options,
    dry_run: dryRun,
    dag_run_id: runId,
    task_ids: taskIds,
    only_running: false,
    reset_dag_runs: true,
    run_on_latest_version: false,
    prevent_running_task: false,
  });
  const send = async (dryRun: boolean) =>
    must(
      await api.POST("/api/v2/dags/{dag_id}/clearTaskInstances", {
        params: { path: { dag_id: dagId } },
        body: body(dryRun),
      }),
    );
  const preview = useQuery({
    queryKey: ["clearPreview", dagId, runId, taskIds, options],
    queryFn: () => send(true),
    enabled: open,
    gcTime: 0,
    staleTime: 0,
  });
  const clear = useMutation({
    mutationFn: () => send(false),
    onSuccess: (result) => {
      onCleared?.(result.task_instances);
      onClose();
    },
  });
  const what =
    taskIds === null
      ? `run ${runId}`
      : taskIds.length === 1
        ? typeof taskIds[0] === "string"
          ? taskIds[0]
          : `${taskIds[0]![0]} [${taskIds[0]![1]}]`
        : `${taskIds.length} tasks`;
  const count = preview.data?.total_entries ?? 0;
  return (
    <Dialog
      title={`Clear ${what}`}
      open={open}
      onClose={onClose}
      actions={
        <ConfirmActions
          onCancel={onClose}
          onConfirm={() => clear.mutate()}
          disabled={!preview.data || count === 0 || clear.isPending}
        >
          Clear {count} task instance{count === 1 ? "" : "s"}
        </ConfirmActions>
      }
    >
      <OptionChecks legend="Also clear" labels={OPTION_LABELS} value={options} onChange={setOptions} />
      <p className="muted">Cleared task instances lose their state and run again (a new try).</p>
      {preview.isError && (
        <p role="alert" className="error">
          The preview failed: {preview.error.message}
        </p>
      )}
      {preview.isPending && <p className="muted">Working out what will be cleared…</p>}
      {preview.data && (
        <PreviewTable
          label="Task instances to clear"
          rows={preview.data.task_instances}
          empty="Nothing to clear."
        />
      )}
      {clear.isError && (
        <p role="alert" className="error">
          Clearing failed: {clear.error.message}
        </p>
      )}
    </Dialog>
  );
}
