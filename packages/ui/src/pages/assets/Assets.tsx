/**
 * Assets (data-aware scheduling): the list of assets with their last event, and an asset's page:
 * the tasks that update it, the DAGs scheduled on it, its events (newest first) and the runs each
 * event started. Read from the public REST API (/api/v2/assets...), typed by the generated spec.
 */
import { useQuery } from "@tanstack/react-query";
import { api, must } from "../../api.ts";
import { formatDate } from "../../components/time.ts";
import { hrefs, Link } from "../../router.tsx";
import { EmptyRow, Failure } from "../admin/common.tsx";
import "../admin/admin.css";

export function AssetsPage() {
  const list = useQuery({
    queryKey: ["assets"],
    queryFn: async () =>
      must(await api.GET("/api/v2/assets", { params: { query: { limit: 1000, order_by: ["uri"] } } })),
  });
  const assets = list.data?.assets ?? [];
  return (
    <main className="admin-page" aria-label="assets">
      <div className="toolbar">
        <h1>Assets</h1>
      </div>
      <Failure what="Could not read the assets" error={list.error} />
      <table aria-label="Assets">
        <thead>
          <tr>
            <th>Name</th>
            <th>URI</th>
            <th>Group</th>
            <th>Updated by</th>
            <th>Scheduled DAGs</th>
            <th>Last event</th>
          </tr>
        </thead>
        <tbody>
          {assets.map((a) => (
            <tr key={a.id}>
              <td>
                <Link href={hrefs.asset(a.id)}>{a.name}</Link>
              </td>
              <td>
                <code>{a.uri}</code>
              </td>
              <td>{a.group}</td>
              <td>{a.producing_tasks.map((t) => `${t.dag_id}.${t.task_id}`).join(", ") || "–"}</td>
              <td>{a.scheduled_dags.map((d) => d.dag_id).join(", ") || "–"}</td>
              <td>{formatDate(a.last_asset_event?.timestamp)}</td>
            </tr>
          ))}
          {list.data && assets.length === 0 && (
            <EmptyRow colSpan={6}>
              No asset yet: give a task outlets: [asset("s3://...")] or schedule a DAG on one
              (docs/assets.md).
            </EmptyRow>
          )}
        </tbody>
      </table>
    </main>
  );
}

export function AssetPage({ assetId }: { assetId: number }) {
  const asset = useQuery({
    queryKey: ["asset", assetId],
    queryFn: async () =>
      must(await api.GET("/api/v2/assets/{asset_id}", { params: { path: { asset_id: assetId } } })),
  });
  const events = useQuery({
    queryKey: ["asset-events", assetId],
    refetchInterval: 5000,
    queryFn: async () =>
      must(
        await api.GET("/api/v2/assets/events", {
          params: { query: { asset_id: assetId, order_by: ["-timestamp"], limit: 100 } },
        }),
      ),
  });
  const a = asset.data;
  return (
    <main className="admin-page" aria-label="asset">
      <div className="toolbar">
        <h1>
          <Link href={hrefs.assets()}>Assets</Link> / {a?.name ?? assetId}
        </h1>
      </div>
      <Failure what="Could not read the asset" error={asset.error} />
      {a && (
        <>
          <p>
            <code>{a.uri}</code> · group {a.group}
            {a.extra && Object.keys(a.extra).length > 0 && (
              <>
                {" "}
                · extra <code>{JSON.stringify(a.extra)}</code>
              </>
            )}
          </p>
          <h2>Producing tasks</h2>
          <ul aria-label="Producing tasks">
            {a.producing_tasks.map((t) => (
              <li key={`${t.dag_id}.${t.task_id}`}>
                <Link href={hrefs.dag(t.dag_id)}>{t.dag_id}</Link>.{t.task_id}
              </li>
            ))}
            {a.producing_tasks.length === 0 && <li className="muted">none</li>}
          </ul>
          <h2>Scheduled DAGs</h2>
          <ul aria-label="Scheduled DAGs">
            {a.scheduled_dags.map((d) => (
              <li key={d.dag_id}>
                <Link href={hrefs.dag(d.dag_id)}>{d.dag_id}</Link>
              </li>
            ))}
            {a.scheduled_dags.length === 0 && <li className="muted">none</li>}
          </ul>
        </>
      )}
      <h2>Events</h2>
      <Failure what="Could not read the events" error={events.error} />
      <table aria-label="Asset events">
        <thead>
          <tr>
            <th>When</th>
            <th>Source</th>
            <th>Extra</th>
            <th>Runs started</th>
          </tr>
        </thead>
        <tbody>
          {(events.data?.asset_events ?? []).map((e) => (
            <tr key={e.id}>
              <td>{formatDate(e.timestamp)}</td>
              <td>
                {e.source_dag_id && e.source_run_id ? (
                  <Link href={hrefs.dag(e.source_dag_id, { run: e.source_run_id })}>
                    {e.source_dag_id}.{e.source_task_id}
                  </Link>
                ) : (
                  "API"
                )}
              </td>
              <td>
                <code>{JSON.stringify(e.extra ?? {})}</code>
              </td>
              <td>
                {e.created_dagruns.map((r) => (
                  <div key={`${r.dag_id}/${r.run_id}`}>
                    <Link href={hrefs.dag(r.dag_id, { run: r.run_id })}>
                      {r.dag_id} {r.run_id}
                    </Link>{" "}
                    <span className={`state ${r.state}`}>{r.state}</span>
                  </div>
                ))}
                {e.created_dagruns.length === 0 && <span className="muted">none yet</span>}
              </td>
            </tr>
          ))}
          {events.data && events.data.asset_events.length === 0 && (
            <EmptyRow colSpan={4}>No event yet.</EmptyRow>
          )}
        </tbody>
      </table>
    </main>
  );
}
