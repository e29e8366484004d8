/**
 * Every DAG, a page at a time from the server (never more rows than shown): search by id, filter by
 * paused, pause switch and trigger per row, import errors announced on top. The URL holds the view.
 */
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api, currentRole, mayEditDags } from "../api.ts";
import { hrefs, Link } from "../router.tsx";
import { useUrlState } from "../url.ts";

const PAGE = 25;

export function DagsPage() {
  const canEdit = mayEditDags(currentRole());
  const [params, update] = useUrlState();
  const search = params.get("search") ?? "";
  const paused = params.get("paused");
  const offset = Number(params.get("offset") ?? 0);
  const queries = useQueryClient();
  const dags = useQuery({
    queryKey: ["dags", search, paused, offset],
    placeholderData: keepPreviousData,
    queryFn: async () =>
      (
        await api.GET("/api/v2/dags", {
          params: {
            query: {
              limit: PAGE,
              offset,
              order_by: ["dag_id"],
              ...(search ? { dag_id_pattern: search } : {}),
              ...(paused ? { paused: paused === "true" } : {}),
            },
          },
        })
      ).data,
  });
  const errors = useQuery({
    queryKey: ["importErrors"],
    queryFn: async () => (await api.GET("/api/v2/importErrors", { params: { query: { limit: 5 } } })).data,
  });
  const pause = useMutation({
    mutationFn: async ({ dagId, isPaused }: { dagId: string; isPaused: boolean }) =>
      api.PATCH("/api/v2/dags/{dag_id}", {
        params: { path: { dag_id: dagId } },
        body: { is_paused: isPaused },
      }),
    onSuccess: () => queries.invalidateQueries({ queryKey: ["dags"] }),
  });
  const [notice, setNotice] = useState<string | null>(null);
  const trigger = useMutation({
    mutationFn: async (dagId: string) => {
      const r = await api.POST("/api/v2/dags/{dag_id}/dagRuns", {
        params: { path: { dag_id: dagId } },
        body: { logical_date: null },
      });
      if (r.error) throw new Error(JSON.stringify((r.error as { detail?: unknown }).detail));
      return r.data;
    },
    onSuccess: (run) => setNotice(`Triggered ${run?.dag_id}: run ${run?.dag_run_id}`),
    onError: (error) => setNotice(`Trigger failed: ${(error as Error).message}`),
  });
  const total = dags.data?.total_entries ?? 0;
  return (
    <main>
      {errors.data && errors.data.total_entries > 0 && (
        <section className="banner" role="alert">
          <strong>{errors.data.total_entries} DAG file(s) failed to load:</strong>
          <ul>
            {errors.data.import_errors.map((e) => (
              <li key={e.import_error_id}>
                <code>{e.filename}</code>: {e.stack_trace.split("\n")[0]}
              </li>
            ))}
          </ul>
        </section>
      )}
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
          aria-label="Paused"
          value={paused ?? ""}
          onChange={(e) => update({ paused: e.target.value || null, offset: null })}
        >
          <option value="">All</option>
          <option value="false">Active</option>
          <option value="true">Paused</option>
        </select>
      </div>
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      <table>
        <thead>
          <tr>
            <th>On</th>
            <th>DAG</th>
            <th>Owner</th>
            <th>Schedule</th>
            <th>Next run</th>
            <th>Tags</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {dags.data?.dags.map((dag) => (
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
                <code>{dag.timetable_summary ?? "manual"}</code>
              </td>
              <td>
                {dag.next_dagrun_run_after ? new Date(dag.next_dagrun_run_after).toLocaleString() : "-"}
              </td>
              <td>
                {dag.tags.map((t) => (
                  <span className="tag" key={t.name}>
                    {t.name}
                  </span>
                ))}
              </td>
              <td>
                {canEdit && (
                  <button
                    onClick={() => {
                      if (window.confirm(`Trigger a run of ${dag.dag_id} now?`)) trigger.mutate(dag.dag_id);
                    }}
                  >
                    Trigger
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="pager">
        <button
          disabled={offset === 0}
          onClick={() => update({ offset: String(Math.max(0, offset - PAGE)) })}
        >
          Previous
        </button>
        <span>
          {total === 0 ? 0 : offset + 1}–{Math.min(offset + PAGE, total)} of {total}
        </span>
        <button disabled={offset + PAGE >= total} onClick={() => update({ offset: String(offset + PAGE) })}>
          Next
        </button>
      </div>
    </main>
  );
}
