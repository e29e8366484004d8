/**
 * The facts a DAG page opens with (Airflow 3's DAG header): owners, tags, the latest run with its
 * state, the next run, and a Reparse button that asks the DAG processor to read the file again.
 */
import { useMutation, useQuery } from "@tanstack/react-query";
import { api, must } from "../../api.ts";
import { StateBadge } from "../../components/StateBadge.tsx";
import { formatDate } from "../../components/time.ts";
import { hrefs, Link } from "../../router.tsx";

interface HeaderDag {
  dag_id: string;
  owners: string[];
  tags: { name: string }[];
  file_token: string;
  next_dagrun_run_after?: string | null;
}

export function DagHeader({ dag, canEdit }: { dag: HeaderDag; canEdit: boolean }) {
  const latest = useQuery({
    queryKey: ["runs", dag.dag_id, "latest"],
    queryFn: async () =>
      must(
        await api.GET("/api/v2/dags/{dag_id}/dagRuns", {
          params: { path: { dag_id: dag.dag_id }, query: { limit: 1, order_by: ["-run_after"] } },
        }),
      ).dag_runs[0] ?? null,
    refetchInterval: 5000,
  });
  const reparse = useMutation({
    mutationFn: async () =>
      must(
        await api.PUT("/api/v2/parseDagFile/{file_token}", {
          params: { path: { file_token: dag.file_token } },
        }),
      ),
  });
  const run = latest.data;
  return (
    <dl className="dag-header" aria-label="DAG summary">
      <div>
        <dt>Owner</dt>
        <dd>{dag.owners.join(", ") || "–"}</dd>
      </div>
      <div>
        <dt>Tags</dt>
        <dd>
          {dag.tags.length === 0
            ? "–"
            : dag.tags.map((t) => (
                <span className="tag" key={t.name}>
                  {t.name}
                </span>
              ))}
        </dd>
      </div>
      <div>
        <dt>Latest run</dt>
        <dd>
          {run ? (
            <>
              <Link href={hrefs.dag(dag.dag_id, { run: run.dag_run_id })}>{formatDate(run.run_after)}</Link>{" "}
              <StateBadge state={run.state} />
            </>
          ) : latest.isPending ? (
            "…"
          ) : (
            "never run"
          )}
        </dd>
      </div>
      <div>
        <dt>Next run</dt>
        <dd>{dag.next_dagrun_run_after ? formatDate(dag.next_dagrun_run_after) : "–"}</dd>
      </div>
      {canEdit && (
        <div>
          <dt>File</dt>
          <dd>
            <button type="button" onClick={() => reparse.mutate()} disabled={reparse.isPending}>
              Reparse
            </button>{" "}
            {reparse.isSuccess && (
              <span role="status" className="muted">
                the file will be parsed again shortly
              </span>
            )}
            {reparse.isError && (
              <span role="alert" className="error">
                {reparse.error.message}
              </span>
            )}
          </dd>
        </div>
      )}
    </dl>
  );
}
