/**
 * The DAG's runs as a list: filtered by state, run type and run_after range, sorted and paged by the
 * server, with the filters in the URL. Each run links to the grid with it selected; editors can mark
 * a run success or failed, clear it (after a preview of what will be cleared) and delete it.
 */
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api, useRole, mayEditDags, must } from "../../api.ts";
import { LIVE_STATES, StateBadge } from "../../components/StateBadge.tsx";
import { NoteEditor } from "../../components/NoteEditor.tsx";
import { Pager } from "../../components/Pager.tsx";
import { formatDate, formatDuration } from "../../components/time.ts";
import { hrefs, Link } from "../../router.tsx";
import { useUrlState } from "../../url.ts";
import type { Run } from "./grid/blocks.ts";
import { RunActionDialog, type RunAction } from "./grid/RunActionDialog.tsx";
import { RunCallbacksPanel } from "./RunCallbacks.tsx";
import { runVersion } from "./versions.ts";
import "./runs.css";

const PAGE = 25;
const RUN_STATES = ["queued", "running", "success", "failed"];
const RUN_TYPES = ["manual", "scheduled", "backfill", "asset_triggered"];
const SORTABLE: { field: string; label: string }[] = [
  { field: "state", label: "State" },
  { field: "run_id", label: "Run" },
  { field: "", label: "Type" },
  { field: "run_after", label: "Run after" },
  { field: "logical_date", label: "Logical date" },
  { field: "start_date", label: "Started" },
  { field: "end_date", label: "Ended" },
  { field: "duration", label: "Duration" },
  { field: "", label: "Version" },
];

/** A date input's day as the start (or end) of that day in local time, as the API's ISO instant. */
const dayBound = (day: string, end: boolean) =>
  new Date(`${day}T${end ? "23:59:59.999" : "00:00:00"}`).toISOString();

function useRunList(dagId: string, params: URLSearchParams) {
  const state = params.get("run_state");
  const type = params.get("run_type");
  const from = params.get("run_after_gte");
  const to = params.get("run_after_lte");
  // A day of logical dates in UTC (the calendar's days): YYYY-MM-DD.
  const logicalDay = params.get("logical_day");
  const order = params.get("run_order") ?? "-run_after";
  const offset = Number(params.get("run_offset") ?? 0) || 0;
  const query = useQuery({
    queryKey: ["runs", dagId, "list", { state, type, from, to, logicalDay, order, offset }],
    queryFn: async () =>
      must(
        await api.GET("/api/v2/dags/{dag_id}/dagRuns", {
          params: {
            path: { dag_id: dagId },
            query: {
              limit: PAGE,
              offset,
              order_by: [order],
              ...(state ? { state: [state] } : {}),
              ...(type ? { run_type: [type] } : {}),
              ...(from ? { run_after_gte: dayBound(from, false) } : {}),
              ...(to ? { run_after_lte: dayBound(to, true) } : {}),
              ...(logicalDay
                ? {
                    logical_date_gte: `${logicalDay}T00:00:00Z`,
                    logical_date_lte: `${logicalDay}T23:59:59.999Z`,
                  }
                : {}),
            },
          },
        }),
      ),
    refetchInterval: (q) => (q.state.data?.dag_runs.some((r) => LIVE_STATES.has(r.state)) ? 2000 : false),
  });
  return { query, state, type, from, to, logicalDay, order, offset };
}

export function RunsTab({ dagId }: { dagId: string }) {
  const [params, update] = useUrlState();
  const { query, state, type, from, to, logicalDay, order, offset } = useRunList(dagId, params);
  const canEdit = mayEditDags(useRole());
  const [action, setAction] = useState<RunAction | null>(null);
  const filter = (changes: Record<string, string | null>) =>
    update({ ...changes, run_offset: null }, { replace: true });
  const sortBy = (field: string) => update({ run_order: order === `-${field}` ? field : `-${field}` });
  const selected = params.get("run");
  return (
    <section aria-label="Runs" className="runs-tab">
      <form className="toolbar runs-filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          State
          <select value={state ?? ""} onChange={(e) => filter({ run_state: e.target.value })}>
            <option value="">All</option>
            {RUN_STATES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Run type
          <select value={type ?? ""} onChange={(e) => filter({ run_type: e.target.value })}>
            <option value="">All</option>
            {RUN_TYPES.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </label>
        <label>
          Run after from
          <input type="date" value={from ?? ""} onChange={(e) => filter({ run_after_gte: e.target.value })} />
        </label>
        <label>
          to
          <input type="date" value={to ?? ""} onChange={(e) => filter({ run_after_lte: e.target.value })} />
        </label>
        {logicalDay && (
          <span className="tag" role="status">
            Logical date {logicalDay} (UTC)
          </span>
        )}
        {(state || type || from || to || logicalDay) && (
          <button
            type="button"
            onClick={() =>
              filter({
                run_state: null,
                run_type: null,
                run_after_gte: null,
                run_after_lte: null,
                logical_day: null,
              })
            }
          >
            Reset filters
          </button>
        )}
      </form>
      {query.isError && (
        <p role="alert" className="error">
          The runs of {dagId} could not be read: {query.error.message}
        </p>
      )}
      <table className="runs-table">
        <thead>
          <tr>
            {SORTABLE.map(({ field, label }) => (
              <th
                key={label}
                aria-sort={
                  !field
                    ? undefined
                    : order === field
                      ? "ascending"
                      : order === `-${field}`
                        ? "descending"
                        : "none"
                }
              >
                {field ? (
                  <button type="button" className="sort" onClick={() => sortBy(field)}>
                    {label}
                    <span aria-hidden>{order === field ? " ▲" : order === `-${field}` ? " ▼" : ""}</span>
                  </button>
                ) : (
                  label
                )}
              </th>
            ))}
            <th>
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {query.data?.dag_runs.map((run) => (
            <RunRow
              key={run.dag_run_id}
              dagId={dagId}
              run={run}
              selected={run.dag_run_id === selected}
              canEdit={canEdit}
              onAction={setAction}
            />
          ))}
          {query.data?.dag_runs.length === 0 && (
            <tr>
              <td colSpan={SORTABLE.length + 1} className="muted">
                No runs match.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      {query.data && (
        <Pager
          offset={offset}
          limit={PAGE}
          total={query.data.total_entries}
          onChange={(o) => update({ run_offset: o ? String(o) : null })}
        />
      )}
      {selected && (
        <RunNote
          dagId={dagId}
          runId={selected}
          run={query.data?.dag_runs.find((r) => r.dag_run_id === selected)}
          canEdit={canEdit}
        />
      )}
      {selected && <RunCallbacksPanel dagId={dagId} runId={selected} />}
      <RunActionDialog dagId={dagId} action={action} onClose={() => setAction(null)} />
    </section>
  );
}

function RunRow({
  dagId,
  run,
  selected,
  canEdit,
  onAction,
}: {
  dagId: string;
  run: Run;
  selected: boolean;
  canEdit: boolean;
  onAction: (action: RunAction) => void;
}) {
  const id = run.dag_run_id;
  return (
    <tr className={selected ? "selected" : undefined}>
      <td>
        <StateBadge state={run.state} />
      </td>
      <td className="run-id">
        <Link href={hrefs.dag(dagId, { tab: "runs", run: id })} aria-label={`Select ${id}`}>
          {id}
        </Link>
      </td>
      <td>{run.run_type}</td>
      <td>{formatDate(run.run_after)}</td>
      <td>{formatDate(run.logical_date)}</td>
      <td>{formatDate(run.start_date)}</td>
      <td>{formatDate(run.end_date)}</td>
      <td>{formatDuration(run.duration)}</td>
      <td>{runVersion(run) === null ? "–" : `v${runVersion(run)}`}</td>
      <td>
        <div className="runs-actions">
          <Link href={hrefs.dag(dagId, { run: id })} aria-label={`Show ${id} in the grid`}>
            Grid
          </Link>
          {canEdit && (
            <>
              <button
                type="button"
                aria-label={`Clear ${id}`}
                onClick={() => onAction({ kind: "clear", run })}
              >
                Clear
              </button>
              <button
                type="button"
                aria-label={`Mark ${id} success`}
                disabled={run.state === "success"}
                onClick={() => onAction({ kind: "success", run })}
              >
                Success
              </button>
              <button
                type="button"
                aria-label={`Mark ${id} failed`}
                disabled={run.state === "failed"}
                onClick={() => onAction({ kind: "failed", run })}
              >
                Failed
              </button>
              <button
                type="button"
                aria-label={`Delete ${id}`}
                className="danger-text"
                onClick={() => onAction({ kind: "delete", run })}
              >
                Delete
              </button>
            </>
          )}
        </div>
      </td>
    </tr>
  );
}

/** The selected run's note, edited in place (PATCH of the run's `note`). */
export function RunNote({
  dagId,
  runId,
  run,
  canEdit,
}: {
  dagId: string;
  runId: string;
  run: Run | undefined;
  canEdit: boolean;
}) {
  const queries = useQueryClient();
  if (!run) return null;
  return (
    <section aria-label={`Note of ${runId}`} className="run-note">
      <h3>Note of {runId}</h3>
      <NoteEditor
        label={`run ${runId}`}
        note={run.note}
        canEdit={canEdit}
        save={async (note) =>
          must(
            await api.PATCH("/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}", {
              params: { path: { dag_id: dagId, dag_run_id: runId }, query: { update_mask: ["note"] } },
              body: { note },
            }),
          )
        }
        onSaved={() => void queries.invalidateQueries({ queryKey: ["runs", dagId] })}
      />
    </section>
  );
}
