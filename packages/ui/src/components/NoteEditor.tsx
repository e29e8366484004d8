/**
 * A run's or a task instance's note (the API's `note`, Airflow's): shown as written, edited in place
 * by roles that may change DAGs, saved with the caller's PATCH; an empty note removes it.
 */
import { useMutation } from "@tanstack/react-query";
import { useState } from "react";

export function NoteEditor({
  label,
  note,
  canEdit,
  save,
  onSaved,
}: {
  /** What the note is about, e.g. "run manual__2026-01-01". */
  label: string;
  note: string | null | undefined;
  canEdit: boolean;
  save: (note: string | null) => Promise<unknown>;
  onSaved: () => void;
}) {
  const [draft, setDraft] = useState<string | null>(null);
  const mutation = useMutation({
    mutationFn: (text: string) => save(text.trim() === "" ? null : text),
    onSuccess: () => {
      setDraft(null);
      onSaved();
    },
  });
  if (draft !== null)
    return (
      <form
        className="note-editor"
        aria-label={`Note of ${label}`}
        onSubmit={(e) => {
          e.preventDefault();
          mutation.mutate(draft);
        }}
      >
        <textarea
          aria-label="Note"
          value={draft}
          rows={3}
          maxLength={1000}
          onChange={(e) => setDraft(e.target.value)}
        />
        <div>
          <button type="submit" disabled={mutation.isPending}>
            Save note
          </button>{" "}
          <button type="button" onClick={() => setDraft(null)}>
            Cancel
          </button>
          {mutation.isError && (
            <span role="alert" className="error">
              {" "}
              {mutation.error.message}
            </span>
          )}
        </div>
      </form>
    );
  return (
    <div className="note" aria-label={`Note of ${label}`} role="group">
      {note ? <p className="note-text">{note}</p> : <p className="muted">No note.</p>}
      {canEdit && (
        <button type="button" onClick={() => setDraft(note ?? "")}>
          {note ? "Edit note" : "Add note"}
        </button>
      )}
    </div>
  );
}
