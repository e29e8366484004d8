/**
 * Runs and task instances across every DAG (Airflow 3's Browse menu): e.g. everything that failed
 * today. Filtered and paged on the server (`/api/v2/dags/~/dagRuns`, `/dags/~/dagRuns/~/taskInstances`);
 * the filters live in the URL, so a view can be shared as a link.
 */
import { useQuery } from "@tanstack/react-query";
import type { ReactNode } from "react";
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

/** The server-side filters of a browse list, as its query parameters. */
interface Query {
  limit: number;
  offset: number;
  state?: string[];
  dag_id_pattern?: string;
  start_date_gte?: string;
}

/** One browse list: how to fetch a page of rows, and how to show a row. */
interface ListSpec<Row> {
  title: string;
  noun: string;
  states: readonly string[];
  fetch: (query: Query) => Promise<{ rows: Row[]; total: number }>;
  key: (row: Row) => string;
  columns: [header: string, cell: (row: Row) => ReactNode][];
}

/** A filtered, paged, live list of rows of every DAG. */
function BrowseList<Row>({ spec }: { spec: ListSpec<Row> }) {
  const { state, dag, since, offset, update } = useFilters();
  const from = sinceInstant(since);
  const list = useQuery({
    queryKey: ["browse", spec.noun, state, dag, since, offset],
    queryFn: () =>
      spec.fetch({
        limit: PAGE,
        offset,
        ...(state ? { state: [state] } : {}),
        ...(dag ? { dag_id_pattern: dag } : {}),
        ...(from ? { start_date_gte: from } : {}),
      }),
    refetchInterval: 5000,
  });
  const label = spec.noun.charAt(0).toUpperCase() + spec.noun.slice(1);
  return (
    <main>
      <h1>{spec.title}</h1>
      <Filters states={spec.states} noun={spec.noun} />
      {list.isError && (
        <p role="alert" className="error">
          {list.error.message}
        </p>
      )}
      <table className="list" aria-label={label}>
        <thead>
          <tr>
            {spec.columns.map(([header]) => (
              <th key={header}>{header}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {list.data?.rows.map((row) => (
            <tr key={spec.key(row)}>
              {spec.columns.map(([header, cell]) => (
                <td key={header}>{cell(row)}</td>
              ))}
            </tr>
          ))}
          {list.data?.rows.length === 0 && (
            <tr>
              <td colSpan={spec.columns.length} className="muted">
                No {spec.noun} match.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      {list.data && (
        <Pager
          offset={offset}
          limit={PAGE}
          total={list.data.total}
          onChange={(o) => update({ offset: o ? String(o) : null })}
        />
      )}
    </main>
  );
}

type RunRow = Awaited<ReturnType<typeof fetchRuns>>["rows"][number];
type TiRow = Awaited<ReturnType<typeof fetchTaskInstances>>["rows"][number];

async function fetchRuns(query: Query) {
  const page = must(
    await api.GET("/api/v2/dags/{dag_id}/dagRuns", {
      params: { path: { dag_id: "~" }, query: { ...query, order_by: ["-run_after"] } },
    }),
  );
  return { rows: page.dag_runs, total: page.total_entries };
}

async function fetchTaskInstances(query: Query) {
  const page = must(
    await api.GET("/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances", {
      params: { path: { dag_id: "~", dag_run_id: "~" }, query: { ...query, order_by: ["-start_date"] } },
    }),
  );
  return { rows: page.task_instances, total: page.total_entries };
}

const RUNS: ListSpec<RunRow> = {
  title: "Runs of every DAG",
  noun: "runs",
  states: RUN_STATES,
  fetch: fetchRuns,
  key: (r) => `${r.dag_id}/${r.dag_run_id}`,
  columns: [
    ["State", (r) => <StateBadge state={r.state} />],
    ["DAG", (r) => <Link href={hrefs.dag(r.dag_id)}>{r.dag_id}</Link>],
    ["Run", (r) => <Link href={hrefs.dag(r.dag_id, { run: r.dag_run_id })}>{r.dag_run_id}</Link>],
    ["Type", (r) => r.run_type],
    ["Run after", (r) => formatDate(r.run_after)],
    ["Started", (r) => formatDate(r.start_date)],
    ["Duration", (r) => formatDuration(r.duration)],
  ],
};

const TASK_INSTANCES: ListSpec<TiRow> = {
  title: "Task instances of every DAG",
  noun: "task instances",
  states: TI_STATES,
  fetch: fetchTaskInstances,
  key: (ti) => `${ti.dag_id}/${ti.dag_run_id}/${ti.task_id}/${ti.map_index}`,
  columns: [
    ["State", (ti) => <StateBadge state={ti.state} />],
    ["DAG", (ti) => <Link href={hrefs.dag(ti.dag_id)}>{ti.dag_id}</Link>],
    ["Run", (ti) => <Link href={hrefs.dag(ti.dag_id, { run: ti.dag_run_id })}>{ti.dag_run_id}</Link>],
    [
      "Task",
      (ti) => (
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
      ),
    ],
    ["Try", (ti) => ti.try_number],
    ["Started", (ti) => formatDate(ti.start_date)],
    ["Duration", (ti) => formatDuration(ti.duration)],
  ],
};

export function BrowseRunsPage() {
  return <BrowseList spec={RUNS} />;
}

export function BrowseTaskInstancesPage() {
  return <BrowseList spec={TASK_INSTANCES} />;
}
