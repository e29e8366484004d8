/**
 * What the admin pages share: who may change what (mirroring the server's roles.ts), the list state
 * the URL holds (search, offset, limit), a delete confirmation and the error line of a failed call.
 */
import { useState, type ReactNode } from "react";
import { useRole, type Role } from "../../api.ts";
import { Dialog } from "../../components/Dialog.tsx";
import { Pager } from "../../components/Pager.tsx";
import { useUrlState } from "../../url.ts";

/** Variables, connections, config: read and changed by Op and Admin (tags Variable, Connection). */
export const mayManage = (role: Role | null) => role === "Admin" || role === "Op";
/** Pools: read by every role, changed by Op and Admin. */
export const mayEditPools = mayManage;
/** Users and roles: Admin only. */
export const mayManageUsers = (role: Role | null) => role === "Admin";

export const PAGE_SIZES = [25, 50, 100];

/** A list's page and search as the URL holds them, so the view can be shared as a link. */
export function useListState(defaultLimit = 25) {
  const [params, update] = useUrlState();
  const limit = Number(params.get("limit") ?? defaultLimit) || defaultLimit;
  const offset = Math.max(0, Number(params.get("offset") ?? 0) || 0);
  const search = params.get("search") ?? "";
  return { params, update, limit, offset, search, role: useRole() };
}

export function ListFooter({
  offset,
  limit,
  total,
  update,
}: {
  offset: number;
  limit: number;
  total: number;
  update: (changes: Record<string, string | null>) => void;
}) {
  return (
    <div className="toolbar">
      <Pager offset={offset} limit={limit} total={total} onChange={(o) => update({ offset: String(o) })} />
      <label>
        Rows{" "}
        <select
          value={limit}
          onChange={(e) => update({ limit: e.target.value, offset: null })}
          aria-label="Rows per page"
        >
          {PAGE_SIZES.map((n) => (
            <option key={n}>{n}</option>
          ))}
        </select>
      </label>
    </div>
  );
}

export function Failure({ what, error }: { what: string; error: Error | null }) {
  if (!error) return null;
  return (
    <p role="alert" className="error">
      {what}: {error.message}
    </p>
  );
}

export function NotAllowed({ what }: { what: string }) {
  const role = useRole();
  return (
    <p role="alert" className="muted">
      Your role ({role ?? "unknown"}) may not see {what}: they need the Op or Admin role.
    </p>
  );
}

/** "Delete X?" with what it destroys; calls `onConfirm` and shows the server's refusal if any. */
export function ConfirmDelete({
  title,
  children,
  open,
  onClose,
  onConfirm,
}: {
  title: string;
  children: ReactNode;
  open: boolean;
  onClose: () => void;
  onConfirm: () => Promise<unknown>;
}) {
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);
  const close = () => {
    setError(null);
    onClose();
  };
  return (
    <Dialog
      title={title}
      open={open}
      onClose={close}
      actions={
        <>
          <button onClick={close}>Cancel</button>
          <button
            className="danger"
            disabled={busy}
            onClick={async () => {
              setBusy(true);
              try {
                await onConfirm();
                close();
              } catch (e) {
                setError(e as Error);
              } finally {
                setBusy(false);
              }
            }}
          >
            Delete
          </button>
        </>
      }
    >
      {children}
      <Failure what="Delete failed" error={error} />
    </Dialog>
  );
}

/** A dialog holding a form; Save submits it, so Enter in a field saves too. */
export function FormDialog({
  title,
  open,
  onClose,
  onSubmit,
  error,
  busy,
  children,
}: {
  title: string;
  open: boolean;
  onClose: () => void;
  onSubmit: () => void;
  error: Error | null;
  busy: boolean;
  children: ReactNode;
}) {
  const formId = `form-${title.replace(/\W+/g, "-")}`;
  return (
    <Dialog
      title={title}
      open={open}
      onClose={onClose}
      actions={
        <>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" form={formId} className="primary" disabled={busy}>
            Save
          </button>
        </>
      }
    >
      <form
        id={formId}
        className="admin-form"
        onSubmit={(e) => {
          e.preventDefault();
          onSubmit();
        }}
      >
        {children}
      </form>
      <Failure what="Save failed" error={error} />
    </Dialog>
  );
}

/** A row's Edit and Delete buttons, named after the row (screen readers and tests tell rows apart). */
export function RowActions({
  name,
  onEdit,
  onDelete,
  editLabel = "Edit",
}: {
  name: string;
  onEdit: () => void;
  onDelete: () => void;
  editLabel?: string;
}) {
  return (
    <div className="row-actions">
      <button aria-label={`${editLabel === "Edit" ? "Edit" : `${editLabel} of`} ${name}`} onClick={onEdit}>
        {editLabel}
      </button>
      <button aria-label={`Delete ${name}`} onClick={onDelete}>
        Delete
      </button>
    </div>
  );
}

/** What a table shows when the page has no rows. */
export function EmptyRow({ colSpan, children }: { colSpan: number; children: ReactNode }) {
  return (
    <tr>
      <td colSpan={colSpan} className="muted">
        {children}
      </td>
    </tr>
  );
}
