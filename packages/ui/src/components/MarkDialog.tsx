/**
 * Marking a task instance success or failed, with confirmation: a dry run of the same change
 * (with the upstream, downstream, past and future options) previews what will change state; Confirm
 * applies it. Also exports the preview table the clear dialog shares.
 */
import { useMutation, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { api, must } from "../api.ts";
import type { components } from "../../../updraft/src/api/generated/airflow-v2.ts";
import { Dialog } from "./Dialog.tsx";
import { ConfirmActions, OptionChecks } from "./OptionChecks.tsx";
import { StateBadge } from "./StateBadge.tsx";
import "./ti-actions.css";

export type TaskInstanceRow = components["schemas"]["TaskInstanceResponse"];
type PatchBody = components["schemas"]["PatchTaskInstanceBody"];

const PREVIEW_ROWS = 200;

/** What an action will touch: task, run and current state, the first PREVIEW_ROWS of them. */
export function PreviewTable({
  rows,
  label,
  empty,
}: {
  rows: TaskInstanceRow[];
  label: string;
  empty: string;
}) {
  if (rows.length === 0) return <p className="muted">{empty}</p>;
  return (
    <div className="ti-preview">
      <table aria-label={label}>
        <caption>
          {rows.length} task instance{rows.length === 1 ? "" : "s"}
        </caption>
        <thead>
          <tr>
            <th>Task</th>
            <th>Run</th>
            <th>Current state</th>
          </tr>
        </thead>
        <tbody>
          {rows.slice(0, PREVIEW_ROWS).map((ti) => (
            <tr key={`${ti.dag_run_id}\u0000${ti.task_id}\u0000${ti.map_index}`}>
              <td>{ti.task_id}</td>
              <td>{ti.dag_run_id}</td>
              <td>
                <StateBadge state={ti.state} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {rows.length > PREVIEW_ROWS && <p className="muted">and {rows.length - PREVIEW_ROWS} more</p>}
    </div>
  );
}

type MarkOptions = Pick<
  PatchBody,
  "include_upstream" | "include_downstream" | "include_past" | "include_future"
>;

const OPTION_LABELS: [keyof MarkOptions, string][] = [
  ["include_upstream", "Upstream"],
  ["include_downstream", "Downstream"],
  ["include_past", "Past runs"],
  ["include_future", "Future runs"],
];

export function MarkDialog({
  dagId,
  runId,
  taskId,
  mapIndex = -1,
  state,
  open,
  onClose,
  onMarked,
}: {
  dagId: string;
  runId: string;
  taskId: string;
  /** One instance of a mapped task (-1: the task's every instance). */
  mapIndex?: number;
  state: "success" | "failed";
  open: boolean;
  onClose: () => void;
  onMarked?: (changed: TaskInstanceRow[]) => void;
}) {
  const [options, setOptions] = useState<MarkOptions>({
    include_upstream: false,
    include_downstream: false,
    include_past: false,
    include_future: false,
  });
  const path = { dag_id: dagId, dag_run_id: runId, task_id: taskId };
  const query = mapIndex >= 0 ? { map_index: mapIndex } : {};
  const body: PatchBody = { ...options, new_state: state };
  const preview = useQuery({
    queryKey: ["markPreview", dagId, runId, taskId, mapIndex, state, options],
    queryFn: async () =>
      must(
        await api.PATCH("/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/dry_run", {
          params: { path, query },
          body,
        }),
      ),
    enabled: open,
    gcTime: 0,
    staleTime: 0,
  });
  const mark = useMutation({
    mutationFn: async () =>
      must(
        await api.PATCH("/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}", {
          params: { path, query },
          body,
        }),
      ),
    onSuccess: (result) => {
      onMarked?.(result.task_instances);
      onClose();
    },
  });
  const count = preview.data?.total_entries ?? 0;
  return (
    <Dialog
      title={`Mark ${taskId} ${state}`}
      open={open}
      onClose={onClose}
      actions={
        <ConfirmActions
          onCancel={onClose}
          onConfirm={() => mark.mutate()}
          disabled={!preview.data || count === 0 || mark.isPending}
          className={state === "failed" ? "danger" : "primary"}
        >
          Mark {count} {state}
        </ConfirmActions>
      }
    >
      <OptionChecks legend="Also mark" labels={OPTION_LABELS} value={options} onChange={setOptions} />
      {preview.isError && (
        <p role="alert" className="error">
          The preview failed: {preview.error.message}
        </p>
      )}
      {preview.isPending && <p className="muted">Working out what will change…</p>}
      {preview.data && (
        <PreviewTable
          label={`Task instances to mark ${state}`}
          rows={preview.data.task_instances}
          empty={`Nothing to change: already ${state}.`}
        />
      )}
      {mark.isError && (
        <p role="alert" className="error">
          Marking failed: {mark.error.message}
        </p>
      )}
    </Dialog>
  );
}
