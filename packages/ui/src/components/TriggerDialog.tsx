/** Triggering a run: a confirmation (to become a form generated from the DAG's params). */
import { useMutation } from "@tanstack/react-query";
import { api, must } from "../api.ts";
import type { components } from "../../../updraft/src/api/generated/airflow-v2.ts";
import { Dialog } from "./Dialog.tsx";

type DagRun = components["schemas"]["DAGRunResponse"];

export function TriggerDialog({
  dagId,
  open,
  onClose,
  onTriggered,
}: {
  dagId: string;
  open: boolean;
  onClose: () => void;
  onTriggered: (run: DagRun) => void;
}) {
  const trigger = useMutation({
    mutationFn: async () =>
      must(
        await api.POST("/api/v2/dags/{dag_id}/dagRuns", {
          params: { path: { dag_id: dagId } },
          body: { logical_date: null },
        }),
      ),
    onSuccess: onTriggered,
  });
  return (
    <Dialog
      title={`Trigger ${dagId}`}
      open={open}
      onClose={onClose}
      actions={
        <>
          <button onClick={onClose}>Cancel</button>
          <button className="primary" disabled={trigger.isPending} onClick={() => trigger.mutate()}>
            Trigger
          </button>
        </>
      }
    >
      <p>Start a run of {dagId} now?</p>
      {trigger.isError && (
        <p role="alert" className="error">
          {trigger.error.message}
        </p>
      )}
    </Dialog>
  );
}
