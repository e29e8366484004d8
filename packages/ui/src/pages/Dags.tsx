/**
 * Every DAG, a page at a time from the server (never more rows than shown): search by id, filters
 * by tag, last run state and paused, sorting by the column headers, the recent runs of the page's
 * DAGs as coloured squares (one batch request for the whole page), pause switch and trigger per
 * row, import errors announced on top. The URL holds the view.
 */
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api, useRole, mayEditDags, must } from "../api.ts";
import type { components } from "../../../updraft/src/api/generated/airflow-v2.ts";
import { Pager } from "../components/Pager.tsx";
import { Schedule } from "../components/Schedule.tsx";
import { StateBadge, stateColor } from "../components/StateBadge.tsx";
import { formatDate } from "../components/time.ts";
import { TriggerDialog } from "../components/TriggerDialog.tsx";
import { hrefs, Link } from "../router.tsx";
import { useUrlState } from "../url.ts";
import "./dags.css";

type DagRun = components["schemas"]["DAGRunResponse"];
type RunState = components["schemas"]["DagRunState"];

const PAGE_SIZES = [25, 50, 100];
const RECENT = 10;
const RUN_STATES: RunState[] = ["queued", "running", "success", "failed"];

export function DagsPage() {
  const canEdit = mayEditDags(useRole());
  const [params, update] = useUrlState();
  const search = params.get("search") ?? "";
  const paused = params.get("paused");
  const tag = params.get("tag");
  const lastState = params.get("last_run_state") as RunState | null;
  const sort = params.get("sort") ?? "dag_id";
  const limit = Number(params.get("limit") ?? PAGE_SIZES[0]) || PAGE_SIZES[0]!;
  const offset = Math.max(0, Number(params.get("offset") ?? 0) || 0);
  const queries = useQueryClient();
  const [triggering, setTriggering] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const dags = useQuery({
    queryKey: ["dags", search, paused, tag, lastState, sort, limit, offset],
    placeholderData: keepPreviousData,
    queryFn: async () =>
      must(
        await api.GET("/api/v2/dags", {
          params: {
            query: {
              limit,
              offset,
              order_by: sort === "dag_id" || sort === "-dag_id" ? [sort] : [sort, "dag_id"],
              ...(search ? { dag_id_pattern: search } : {}),
              ...(paused ? { paused: paused === "true" } : {}),
              ...(tag ? { tags: [tag] } : {}),
              ...(lastState ? { last_dag_run_state: lastState } : {}),
            },
          },
        }),
      ),
  });
  const dagIds = dags.data?.dags.map((d) => d.dag_id) ?? [];
  const recent = useRecentRuns(dagIds);
  const tags = useQuery({
    queryKey: ["dagTags"],
    queryFn: async () =>
      must(await api.GET("/api/v2/dagTags", { params: { query: { limit: 100, order_by: ["name"] } } })),
  });
  const pause = useMutation({
    mutationFn: async ({ dagId, isPaused }: { dagId: string; isPaused: boolean }) =>
      must(
        await api.PATCH("/api/v2/dags/{dag_id}", {
          params: { path: { dag_id: dagId } },
          body: { is_paused: isPaused },
        }),
      ),
    onSuccess: () => queries.invalidateQueries({ queryKey: ["dags"] }),
  });
  const total = dags.data?.total_entries ?? 0;
  const header = (field: string, label: string, descFirst = false) => (
    <SortHeader
      field={field}
      label={label}
      sort={sort}
      descFirst={descFirst}
      onSort={(s) => update({ sort: s, offset: null })}
    />
  );
  return (
    <main className="dags-page">
      <ImportErrors />
      <div className="toolbar">
        <h1>DAGs</h1>
        <input
          type="search"
          placeholder="Search DAG id"
          aria-label="Search DAG id"
          defaultValue={search}
          onChange={(e) => update({ search: e.target.value, offset: null }, { replace: true })}
        />
        <select
          aria-label="Tag"
          value={tag ?? ""}
          onChange={(e) => update({ tag: e.target.value, offset: null })}
        >
          <option value="">All tags</option>
          {tags.data?.tags.map((t) => (
            <option key={t}>{t}</option>
          ))}
        </select>
        <select
          aria-label="Last run state"
          value={lastState ?? ""}
          onChange={(e) => update({ last_run_state: e.target.value, offset: null })}
        >
          <option value="">Any last run</option>
          {RUN_STATES.map((s) => (
            <option key={s} value={s}>
              Last run {s}
            </option>
          ))}
        </select>
        <select
          aria-label="Paused"
          value={paused ?? ""}
          onChange={(e) => update({ paused: e.target.value || null, offset: null })}
        >
          <option value="">Active and paused</option>
          <option value="false">Active</option>
          <option value="true">Paused</option>
        </select>
      </div>
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      {dags.isError && (
        <p role="alert" className="error">
          Could not list the DAGs: {dags.error.message}
        </p>
      )}
      {pause.isError && (
        <p role="alert" className="error">
          Could not pause or unpause: {pause.error.message}
        </p>
      )}
      <table aria-label="DAGs">
        <thead>
          <tr>
            <th>On</th>
            {header("dag_id", "DAG")}
            <th>Owner</th>
            <th>Schedule</th>
            {header("next_dagrun", "Next run")}
            <th>Recent runs</th>
            {header("last_run_start_date", "Last run", true)}
            {header("last_run_state", "Last state")}
            <th>Tags</th>
            <th aria-label="Actions" />
          </tr>
        </thead>
        <tbody>
          {dags.data?.dags.map((dag) => {
            const runs = recent.data?.get(dag.dag_id) ?? [];
            const last = runs[0];
            return (
              <tr key={dag.dag_id}>
                <td>
                  <input
                    type="checkbox"
                    role="switch"
                    aria-label={`${dag.dag_id} active`}
                    checked={!dag.is_paused}
                    disabled={!canEdit}
                    onChange={(e) => pause.mutate({ dagId: dag.dag_id, isPaused: !e.target.checked })}
                  />
                </td>
                <td>
                  <Link href={hrefs.dag(dag.dag_id)}>
                    <strong>{dag.dag_id}</strong>
                  </Link>
                  {dag.description && <div className="muted">{dag.description}</div>}
                </td>
                <td>{dag.owners.join(", ")}</td>
                <td>
                  <Schedule summary={dag.timetable_summary} description={dag.timetable_description} />
                </td>
                <td className="nowrap">
                  {dag.next_dagrun_run_after ? formatDate(dag.next_dagrun_run_after) : "–"}
                </td>
                <td>
                  <RecentRuns dagId={dag.dag_id} runs={runs} />
                </td>
                <td className="nowrap">{last ? formatDate(last.start_date ?? last.run_after) : "–"}</td>
                <td>{last ? <StateBadge state={last.state} /> : <span className="muted">never run</span>}</td>
                <td>
                  {dag.tags.map((t) => (
                    <button
                      type="button"
                      className="tag"
                      key={t.name}
                      aria-label={`Filter by tag ${t.name}`}
                      onClick={() => update({ tag: t.name, offset: null })}
                    >
                      {t.name}
                    </button>
                  ))}
                </td>
                <td>
                  {canEdit && (
                    <button aria-label={`Trigger ${dag.dag_id}`} onClick={() => setTriggering(dag.dag_id)}>
                      Trigger
                    </button>
                  )}
                </td>
              </tr>
            );
          })}
          {dags.data?.dags.length === 0 && (
            <tr>
              <td colSpan={10} className="muted">
                No DAGs match.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <div className="toolbar">
        <Pager offset={offset} limit={limit} total={total} onChange={(o) => update({ offset: String(o) })} />
        <label>
          Rows{" "}
          <select
            aria-label="Rows per page"
            value={limit}
            onChange={(e) => update({ limit: e.target.value, offset: null })}
          >
            {PAGE_SIZES.map((n) => (
              <option key={n}>{n}</option>
            ))}
          </select>
        </label>
      </div>
      {triggering && (
        <TriggerDialog
          dagId={triggering}
          open
          onClose={() => setTriggering(null)}
          onTriggered={(run) => {
            setTriggering(null);
            setNotice(`Triggered ${run.dag_id}: run ${run.dag_run_id}`);
            void queries.invalidateQueries({ queryKey: ["recentRuns"] });
          }}
        />
      )}
    </main>
  );
}

function SortHeader({
  field,
  label,
  sort,
  descFirst,
  onSort,
}: {
  field: string;
  label: string;
  sort: string;
  descFirst: boolean;
  onSort: (sort: string) => void;
}) {
  const current = sort === field ? "ascending" : sort === `-${field}` ? "descending" : "none";
  const next =
    current === "ascending"
      ? `-${field}`
      : current === "descending"
        ? field
        : descFirst
          ? `-${field}`
          : field;
  return (
    <th aria-sort={current}>
      <button type="button" onClick={() => onSort(next)} aria-label={`Sort by ${label}`}>
        {label}
      </button>
    </th>
  );
}

/**
 * The last RECENT runs of each DAG on the page, newest first, in one batch request (a second one
 * only for DAGs a busy neighbour crowded out of the first). Polled while the page is open.
 */
function useRecentRuns(dagIds: string[]) {
  return useQuery({
    queryKey: ["recentRuns", dagIds],
    enabled: dagIds.length > 0,
    placeholderData: keepPreviousData,
    refetchInterval: 10_000,
    queryFn: async () => {
      const byDag = new Map<string, DagRun[]>(dagIds.map((id) => [id, []]));
      const fetchFor = async (ids: string[]) => {
        const page = must(
          await api.POST("/api/v2/dags/{dag_id}/dagRuns/list", {
            params: { path: { dag_id: "~" } },
            body: { dag_ids: ids, order_by: "-run_after", page_limit: RECENT * ids.length, page_offset: 0 },
          }),
        );
        for (const run of page.dag_runs) {
          const list = byDag.get(run.dag_id);
          if (list && list.length < RECENT && !list.some((r) => r.dag_run_id === run.dag_run_id))
            list.push(run);
        }
        return page.total_entries > page.dag_runs.length;
      };
      const truncated = await fetchFor(dagIds);
      const short = dagIds.filter((id) => byDag.get(id)!.length === 0);
      if (truncated && short.length > 0) await fetchFor(short);
      return byDag;
    },
  });
}

function RecentRuns({ dagId, runs }: { dagId: string; runs: DagRun[] }) {
  if (runs.length === 0) return <span className="muted">–</span>;
  // Oldest on the left, as in a timeline.
  const ordered = [...runs].reverse();
  return (
    <div className="recent-runs" role="list" aria-label={`Recent runs of ${dagId}`}>
      {ordered.map((run) => (
        <Link
          key={run.dag_run_id}
          role="listitem"
          href={hrefs.dag(dagId, { run: run.dag_run_id })}
          title={`${run.dag_run_id}: ${run.state}, ${formatDate(run.run_after)}`}
          aria-label={`${run.dag_run_id}: ${run.state}`}
          data-state={run.state}
          style={{ background: stateColor(run.state) }}
        />
      ))}
    </div>
  );
}

const ERRORS_PAGE = 10;

/** Files that failed to load: a count and the first ones; expanded, every one, paged, with its trace. */
function ImportErrors() {
  const [params, update] = useUrlState();
  const expanded = params.get("import_errors") === "all";
  const offset = expanded ? Math.max(0, Number(params.get("import_errors_offset") ?? 0) || 0) : 0;
  const limit = expanded ? ERRORS_PAGE : 3;
  const errors = useQuery({
    queryKey: ["importErrors", offset, limit],
    placeholderData: keepPreviousData,
    queryFn: async () =>
      must(
        await api.GET("/api/v2/importErrors", {
          params: { query: { limit, offset, order_by: ["filename"] } },
        }),
      ),
  });
  const total = errors.data?.total_entries ?? 0;
  if (total === 0) return null;
  return (
    <section className="banner import-errors" role="alert" aria-label="Import errors">
      <strong>
        {total} DAG file{total === 1 ? "" : "s"} failed to load
      </strong>
      <ul>
        {errors.data!.import_errors.map((e) => (
          <li key={e.import_error_id}>
            <code>{e.filename}</code>: {e.stack_trace.split("\n")[0]}
            {expanded && (
              <details>
                <summary>Full message</summary>
                <pre>{e.stack_trace}</pre>
              </details>
            )}
          </li>
        ))}
      </ul>
      <div className="toolbar">
        {expanded ? (
          <>
            <Pager
              offset={offset}
              limit={ERRORS_PAGE}
              total={total}
              onChange={(o) => update({ import_errors_offset: String(o) })}
            />
            <button onClick={() => update({ import_errors: null, import_errors_offset: null })}>
              Show fewer
            </button>
          </>
        ) : (
          <button onClick={() => update({ import_errors: "all" })}>
            Show all {total} with their messages
          </button>
        )}
      </div>
    </section>
  );
}
