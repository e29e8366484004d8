/**
 * Backfills (Airflow 3's): the dialog that makes one (a date range, what to do with the dates that
 * already have runs, how many runs at once, backwards or not, the runs' conf), previewing the logical
 * dates the server's dry run says it would run before anything is made; and the DAG's Backfills tab,
 * listing them with Pause / Unpause / Cancel.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api, mayEditDags, must, useRole } from "../../api.ts";
import type { components } from "../../../../updraft/src/api/generated/airflow-v2.ts";
import { Dialog } from "../../components/Dialog.tsx";
import { Pager } from "../../components/Pager.tsx";
import { formatDate } from "../../components/time.ts";
import { useUrlState } from "../../url.ts";

type Backfill = components["schemas"]["BackfillResponse"];
type Reprocess = "none" | "failed" | "completed";

/** Airflow's UI names for reprocess_behavior. */
export const REPROCESS: { value: Reprocess; label: string }[] = [
  { value: "none", label: "Missing runs" },
  { value: "failed", label: "Missing and errored runs" },
  { value: "completed", label: "All runs" },
];

/** A datetime-local input's value as the API's UTC instant (the input is in the browser's zone). */
const instant = (local: string) => (local ? new Date(local).toISOString() : "");

interface Form {
  from: string;
  to: string;
  reprocess: Reprocess;
  maxActiveRuns: string;
  runBackwards: boolean;
  conf: string;
}

/** The request body, or the problem that stops it from being sent. */
function bodyOf(dagId: string, f: Form) {
  if (!f.from || !f.to) return { problem: "Choose the start and the end of the range." };
  let conf: unknown;
  try {
    conf = f.conf.trim() ? JSON.parse(f.conf) : {};
  } catch (e) {
    return { problem: `The conf is not JSON: ${(e as Error).message}` };
  }
  if (conf === null || typeof conf !== "object" || Array.isArray(conf))
    return { problem: "The conf must be a JSON object." };
  const max = Number(f.maxActiveRuns);
  if (!Number.isInteger(max) || max < 1)
    return { problem: "Max active runs must be a whole number of at least 1." };
  return {
    body: {
      dag_id: dagId,
      from_date: instant(f.from),
      to_date: instant(f.to),
      reprocess_behavior: f.reprocess,
      max_active_runs: max,
      run_backwards: f.runBackwards,
      dag_run_conf: conf as Record<string, unknown>,
      run_on_latest_version: false,
    },
  };
}

export function BackfillDialog({
  dagId,
  open,
  onClose,
  onCreated,
}: {
  dagId: string;
  open: boolean;
  onClose: () => void;
  onCreated: (b: Backfill) => void;
}) {
  return (
    <Dialog title={`Backfill ${dagId}`} open={open} onClose={onClose}>
      <BackfillForm dagId={dagId} onClose={onClose} onCreated={onCreated} />
    </Dialog>
  );
}

function BackfillForm({
  dagId,
  onClose,
  onCreated,
}: {
  dagId: string;
  onClose: () => void;
  onCreated: (b: Backfill) => void;
}) {
  const [form, setForm] = useState<Form>({
    from: "",
    to: "",
    reprocess: "none",
    maxActiveRuns: "10",
    runBackwards: false,
    conf: "{}",
  });
  const set = (changes: Partial<Form>) => setForm((f) => ({ ...f, ...changes }));
  const made = bodyOf(dagId, form);
  const key = made.body ? JSON.stringify(made.body) : null;
  const preview = useQuery({
    queryKey: ["backfillDryRun", key],
    enabled: key !== null,
    queryFn: async () =>
      must(await api.POST("/api/v2/backfills/dry_run", { body: JSON.parse(key!) as typeof made.body & {} })),
  });
  const create = useMutation({
    mutationFn: async () => must(await api.POST("/api/v2/backfills", { body: made.body! })),
    onSuccess: onCreated,
  });
  const dates = preview.data?.backfills.map((b) => b.logical_date).filter((d): d is string => !!d) ?? [];
  return (
    <form
      className="admin-form backfill-form"
      aria-label="Backfill"
      onSubmit={(e) => {
        e.preventDefault();
        if (made.body) create.mutate();
      }}
    >
      <label htmlFor="bf-from">From (logical date)</label>
      <input
        id="bf-from"
        type="datetime-local"
        value={form.from}
        onChange={(e) => set({ from: e.target.value })}
      />
      <label htmlFor="bf-to">To (logical date)</label>
      <input id="bf-to" type="datetime-local" value={form.to} onChange={(e) => set({ to: e.target.value })} />
      <label htmlFor="bf-reprocess">Reprocess behaviour</label>
      <select
        id="bf-reprocess"
        value={form.reprocess}
        onChange={(e) => set({ reprocess: e.target.value as Reprocess })}
      >
        {REPROCESS.map((r) => (
          <option key={r.value} value={r.value}>
            {r.label}
          </option>
        ))}
      </select>
      <label htmlFor="bf-max">Max active runs</label>
      <input
        id="bf-max"
        type="number"
        min={1}
        value={form.maxActiveRuns}
        onChange={(e) => set({ maxActiveRuns: e.target.value })}
      />
      <label className="switch">
        <input
          type="checkbox"
          checked={form.runBackwards}
          onChange={(e) => set({ runBackwards: e.target.checked })}
        />
        Run backwards (newest first)
      </label>
      <label htmlFor="bf-conf">Conf (JSON)</label>
      <textarea id="bf-conf" rows={3} value={form.conf} onChange={(e) => set({ conf: e.target.value })} />
      <section aria-label="Backfill preview" className="backfill-preview">
        {made.problem && <p className="muted">{made.problem}</p>}
        {made.body && preview.isError && (
          <p role="alert" className="error">
            {preview.error.message}
          </p>
        )}
        {made.body && preview.data && (
          <>
            <p role="status">
              {preview.data.total_entries} run{preview.data.total_entries === 1 ? "" : "s"} will be triggered
            </p>
            <ul>
              {dates.slice(0, 50).map((d) => (
                <li key={d}>{formatDate(d)}</li>
              ))}
              {dates.length > 50 && <li className="muted">and {dates.length - 50} more</li>}
            </ul>
          </>
        )}
      </section>
      {create.isError && (
        <p role="alert" className="error">
          The backfill was not made: {create.error.message}
        </p>
      )}
      <footer className="toolbar">
        <span className="spacer" />
        <button type="button" onClick={onClose}>
          Cancel
        </button>
        <button
          type="submit"
          className="primary"
          disabled={!made.body || create.isPending || preview.isError || preview.data?.total_entries === 0}
        >
          Run backfill
        </button>
      </footer>
    </form>
  );
}

const PAGE = 25;

export function BackfillsTab({ dagId }: { dagId: string }) {
  const [params, update] = useUrlState();
  const offset = Number(params.get("backfill_offset") ?? 0) || 0;
  const canEdit = mayEditDags(useRole());
  const queries = useQueryClient();
  const list = useQuery({
    queryKey: ["backfills", dagId, offset],
    queryFn: async () =>
      must(
        await api.GET("/api/v2/backfills", {
          params: { query: { dag_id: dagId, limit: PAGE, offset, order_by: ["-id"] } },
        }),
      ),
    refetchInterval: (q) => (q.state.data?.backfills.some((b) => !b.completed_at) ? 3000 : false),
  });
  const act = useMutation({
    mutationFn: async ({ id, op }: { id: number; op: "pause" | "unpause" | "cancel" }) =>
      must(
        await api.PUT(`/api/v2/backfills/{backfill_id}/${op}`, {
          params: { path: { backfill_id: id } },
        }),
      ),
    onSuccess: () => {
      void queries.invalidateQueries({ queryKey: ["backfills", dagId] });
      void queries.invalidateQueries({ queryKey: ["runs", dagId] });
    },
  });
  if (list.isError)
    return (
      <p role="alert" className="error">
        The backfills of {dagId} could not be read: {list.error.message}
      </p>
    );
  const rows = list.data?.backfills ?? [];
  return (
    <>
      {act.isError && (
        <p role="alert" className="error">
          {act.error.message}
        </p>
      )}
      <table aria-label="Backfills">
        <thead>
          <tr>
            <th>Id</th>
            <th>State</th>
            <th>From</th>
            <th>To</th>
            <th>Reprocess</th>
            <th>Max active runs</th>
            <th>Created</th>
            <th>Completed</th>
            {canEdit && (
              <th>
                <span className="sr-only">Actions</span>
              </th>
            )}
          </tr>
        </thead>
        <tbody>
          {rows.map((b) => (
            <tr key={b.id} aria-label={`Backfill ${b.id}`}>
              <td>{b.id}</td>
              <td>{b.completed_at ? "completed" : b.is_paused ? "paused" : "running"}</td>
              <td>{formatDate(b.from_date)}</td>
              <td>{formatDate(b.to_date)}</td>
              <td>
                {REPROCESS.find((r) => r.value === b.reprocess_behavior)?.label ?? b.reprocess_behavior}
              </td>
              <td>{b.max_active_runs}</td>
              <td>{formatDate(b.created_at)}</td>
              <td>{formatDate(b.completed_at)}</td>
              {canEdit && (
                <td>
                  {!b.completed_at && (
                    <div className="row-actions">
                      <button
                        type="button"
                        disabled={act.isPending}
                        onClick={() => act.mutate({ id: b.id, op: b.is_paused ? "unpause" : "pause" })}
                      >
                        {b.is_paused ? "Unpause" : "Pause"}
                      </button>
                      <button
                        type="button"
                        className="danger-text"
                        disabled={act.isPending}
                        onClick={() => act.mutate({ id: b.id, op: "cancel" })}
                      >
                        Cancel
                      </button>
                    </div>
                  )}
                </td>
              )}
            </tr>
          ))}
          {list.data && rows.length === 0 && (
            <tr>
              <td colSpan={9} className="muted">
                No backfills of {dagId} yet{canEdit ? ": make one with the Backfill button above" : ""}.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <Pager
        offset={offset}
        limit={PAGE}
        total={list.data?.total_entries ?? 0}
        onChange={(o) => update({ backfill_offset: o ? String(o) : null })}
      />
    </>
  );
}
