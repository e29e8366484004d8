/**
 * Runs and task instances across every DAG (Airflow 3's Browse menu): e.g. everything that failed
 * today. Filtered and paged on the server (`/api/v2/dags/~/dagRuns`, `/dags/~/dagRuns/~/taskInstances`);
 * the filters live in the URL, so a view can be shared as a link.
 */
import { useQuery } from "@tanstack/react-query";
import { api, must } from "../../api.ts";
import { Pager } from "../../components/Pager.tsx";
import { StateBadge } from "../../components/StateBadge.tsx";
import { formatDate, formatDuration } from "../../components/time.ts";
import { hrefs, Link } from "../../router.tsx";
import { useUrlState } from "../../url.ts";

const PAGE = 50;
const RUN_STATES = ["queued", "running", "success", "failed"] as const;
const TI_STATES = [
  "failed",
  "upstream_failed",
  "up_for_retry",
  "running",
  "queued",
  "scheduled",
  "deferred",
  "up_for_reschedule",
  "success",
  "skipped",
] as const;
type Since = "" | "hour" | "today" | "week";
const SINCES: [Since, string][] = [
  ["", "any time"],
  ["hour", "the last hour"],
  ["today", "today (since local midnight)"],
  ["week", "the last 7 days"],
];

/** The instant a "since" choice starts at, in ISO 8601 (null: no bound). */
export function sinceInstant(since: Since, now = new Date()): string | null {
  if (since === "hour") return new Date(now.getTime() - 3_600_000).toISOString();
  if (since === "week") return new Date(now.getTime() - 7 * 86_400_000).toISOString();
  if (since === "today") return new Date(now.getFullYear(), now.getMonth(), now.getDate()).toISOString();
  return null;
}

function useFilters() {
  const [params, update] = useUrlState();
  const state = params.get("state") ?? "";
  const dag = params.get("dag") ?? "";
  const since = (params.get("since") ?? "") as Since;
  const offset = Number(params.get("offset") ?? 0) || 0;
  return { state, dag, since, offset, update };
}

function Filters({ states, noun }: { states: readonly string[]; noun: string }) {
  const { state, dag, since, update } = useFilters();
  return (
    <div className="toolbar" role="search" aria-label={`Filter ${noun}`}>
      <label>
        State{" "}
        <select value={state} onChange={(e) => update({ state: e.target.value || null, offset: null })}>
          <option value="">any</option>
          {states.map((s) => (
            <option key={s} value={s}>
              {s.replace(/_/g, " ")}
            </option>
          ))}
        </select>
      </label>
      <label>
        Started{" "}
        <select value={since} onChange={(e) => update({ since: e.target.value || null, offset: null })}>
          {SINCES.map(([value, label]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </select>
      </label>
      <label>
        DAG id contains{" "}
        <input
          type="search"
          defaultValue={dag}
          onKeyDown={(e) => {
            if (e.key === "Enter") update({ dag: e.currentTarget.value || null, offset: null });
          }}
          onBlur={(e) => update({ dag: e.currentTarget.value || null, offset: null })}
        />
      </label>
    </div>
  );
}

export function BrowseRunsPage() {
  const { state, dag, since, offset, update } = useFilters();
  const from = sinceInstant(since);
  const runs = useQuery({
    queryKey: ["browse-runs", state, dag, since, offset],
    queryFn: async () =>
      must(
        await api.GET("/api/v2/dags/{dag_id}/dagRuns", {
          params: {
            path: { dag_id: "~" },
            query: {
              limit: PAGE,
              offset,
              order_by: ["-run_after"],
              ...(state ? { state: [state] } : {}),
              ...(dag ? { dag_id_pattern: dag } : {}),
              ...(from ? { start_date_gte: from } : {}),
            },
          },
        }),
      ),
    refetchInterval: 5000,
  });
  return (
    <main>
      <h1>Runs of every DAG</h1>
      <Filters states={RUN_STATES} noun="runs" />
      {runs.isError && (
        <p role="alert" className="error">
          {runs.error.message}
        </p>
      )}
      <table className="list" aria-label="Runs">
        <thead>
          <tr>
            <th>State</th>
            <th>DAG</th>
            <th>Run</th>
            <th>Type</th>
            <th>Run after</th>
            <th>Started</th>
            <th>Duration</th>
          </tr>
        </thead>
        <tbody>
          {runs.data?.dag_runs.map((r) => (
            <tr key={`${r.dag_id}/${r.dag_run_id}`}>
              <td>
                <StateBadge state={r.state} />
              </td>
              <td>
                <Link href={hrefs.dag(r.dag_id)}>{r.dag_id}</Link>
              </td>
              <td>
                <Link href={hrefs.dag(r.dag_id, { run: r.dag_run_id })}>{r.dag_run_id}</Link>
              </td>
              <td>{r.run_type}</td>
              <td>{formatDate(r.run_after)}</td>
              <td>{formatDate(r.start_date)}</td>
              <td>{formatDuration(r.duration)}</td>
            </tr>
          ))}
          {runs.data?.dag_runs.length === 0 && (
            <tr>
              <td colSpan={7} className="muted">
                No runs match.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      {runs.data && (
        <Pager
          offset={offset}
          limit={PAGE}
          total={runs.data.total_entries}
          onChange={(o) => update({ offset: o ? String(o) : null })}
        />
      )}
    </main>
  );
}

export function BrowseTaskInstancesPage() {
  const { state, dag, since, offset, update } = useFilters();
  const from = sinceInstant(since);
  const tis = useQuery({
    queryKey: ["browse-tis", state, dag, since, offset],
    queryFn: async () =>
      must(
        await api.GET("/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances", {
          params: {
            path: { dag_id: "~", dag_run_id: "~" },
            query: {
              limit: PAGE,
              offset,
              order_by: ["-start_date"],
              ...(state ? { state: [state] } : {}),
              ...(dag ? { dag_id_pattern: dag } : {}),
              ...(from ? { start_date_gte: from } : {}),
            },
          },
        }),
      ),
    refetchInterval: 5000,
  });
  return (
    <main>
      <h1>Task instances of every DAG</h1>
      <Filters states={TI_STATES} noun="task instances" />
      {tis.isError && (
        <p role="alert" className="error">
          {tis.error.message}
        </p>
      )}
      <table className="list" aria-label="Task instances">
        <thead>
          <tr>
            <th>State</th>
            <th>DAG</th>
            <th>Run</th>
            <th>Task</th>
            <th>Try</th>
            <th>Started</th>
            <th>Duration</th>
          </tr>
        </thead>
        <tbody>
          {tis.data?.task_instances.map((ti) => (
            <tr key={`${ti.dag_id}/${ti.dag_run_id}/${ti.task_id}/${ti.map_index}`}>
              <td>
                <StateBadge state={ti.state} />
              </td>
              <td>
                <Link href={hrefs.dag(ti.dag_id)}>{ti.dag_id}</Link>
              </td>
              <td>
                <Link href={hrefs.dag(ti.dag_id, { run: ti.dag_run_id })}>{ti.dag_run_id}</Link>
              </td>
              <td>
                <Link
                  href={hrefs.taskInstance(
                    ti.dag_id,
                    ti.dag_run_id,
                    ti.task_id,
                    ti.map_index >= 0 ? { map_index: ti.map_index } : undefined,
                  )}
                >
                  {ti.task_id}
                  {ti.map_index >= 0 ? ` [${ti.map_index}]` : ""}
                </Link>
              </td>
              <td>{ti.try_number}</td>
              <td>{formatDate(ti.start_date)}</td>
              <td>{formatDuration(ti.duration)}</td>
            </tr>
          ))}
          {tis.data?.task_instances.length === 0 && (
            <tr>
              <td colSpan={7} className="muted">
                No task instances match.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      {tis.data && (
        <Pager
          offset={offset}
          limit={PAGE}
          total={tis.data.total_entries}
          onChange={(o) => update({ offset: o ? String(o) : null })}
        />
      )}
    </main>
  );
}
