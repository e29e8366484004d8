/** Deleting a DAG's records (Admin): a confirmation naming the DAG and what goes with it. */
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api, must } from "../api.ts";
import { Dialog } from "./Dialog.tsx";

export function DeleteDagDialog({
  dagId,
  open,
  onClose,
  onDeleted,
}: {
  dagId: string;
  open: boolean;
  onClose: () => void;
  onDeleted: () => void;
}) {
  const queries = useQueryClient();
  const remove = useMutation({
    mutationFn: async () =>
      must(await api.DELETE("/api/v2/dags/{dag_id}", { params: { path: { dag_id: dagId } } })),
    onSuccess: async () => {
      queries.removeQueries({ queryKey: ["dag", dagId] });
      await queries.invalidateQueries({ queryKey: ["dags"] });
      onDeleted();
    },
  });
  return (
    <Dialog
      title={`Delete ${dagId}`}
      open={open}
      onClose={onClose}
      actions={
        <>
          <button onClick={onClose}>Cancel</button>
          <button className="danger" disabled={remove.isPending} onClick={() => remove.mutate()}>
            Delete DAG
          </button>
        </>
      }
    >
      <p>
        Delete the DAG <strong>{dagId}</strong> and all its records: its runs, task instances, XComs and
        history? This cannot be undone. Its file stays: the DAG comes back, empty, when the file is parsed
        again.
      </p>
      {remove.isError && (
        <p role="alert" className="error">
          Delete failed: {remove.error.message}
        </p>
      )}
    </Dialog>
  );
}
