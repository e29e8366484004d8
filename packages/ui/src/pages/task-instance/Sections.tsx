/** The task instance page's panels: summary, tries, dependencies, rendered templates and XCom. */
import { useQuery } from "@tanstack/react-query";
import { useState, type ReactNode } from "react";
import { api, must } from "../../api.ts";
import { Pager } from "../../components/Pager.tsx";
import { Markdown } from "../../components/Markdown.tsx";
import { LIVE_STATES, StateBadge } from "../../components/StateBadge.tsx";
import { hrefs, Link } from "../../router.tsx";
import { formatDate, formatDuration } from "../../components/time.ts";
import type { TaskInstance } from "../../live.ts";

export interface TiKey {
  dagId: string;
  runId: string;
  taskId: string;
  /** A mapped task's instance; -1 (or absent) for a task that is not mapped. */
  mapIndex?: number;
}

const path = (k: TiKey) => ({ dag_id: k.dagId, dag_run_id: k.runId, task_id: k.taskId });
/** The map_index query of a mapped instance's requests (none for an unmapped task). */
const mapQuery = (k: TiKey) => ((k.mapIndex ?? -1) >= 0 ? { map_index: k.mapIndex } : {});

export function Summary({ ti }: { ti: TaskInstance }) {
  const rows: [string, ReactNode][] = [
    ["State", <StateBadge state={ti.state} />],
    ["Try", `${ti.try_number} of ${ti.max_tries + 1}`],
    ["Operator", ti.operator_name ?? ti.operator ?? "–"],
    ["Pool", `${ti.pool} (${ti.pool_slots} slot${ti.pool_slots === 1 ? "" : "s"})`],
    ["Queue", ti.queue ?? "–"],
    ["Priority weight", ti.priority_weight ?? "–"],
    ["Queued", formatDate(ti.queued_when)],
    ["Started", formatDate(ti.start_date)],
    ["Ended", formatDate(ti.end_date)],
    ["Duration", formatDuration(ti.duration)],
    ["Host", ti.hostname ? `${ti.hostname}${ti.pid ? ` (pid ${ti.pid})` : ""}` : "–"],
    ["Executor", ti.executor ?? "–"],
    ["Logical date", formatDate(ti.logical_date)],
  ];
  return (
    <section className="ti-card" aria-label="Summary">
      <h2>Summary</h2>
      <dl className="ti-facts">
        {rows.map(([label, value]) => (
          <div key={label}>
            <dt>{label}</dt>
            <dd>{value}</dd>
          </div>
        ))}
      </dl>
    </section>
  );
}

/** The task's doc_md (from its definition, which a run does not change); nothing when it has none. */
export function TaskDocs({ tiKey }: { tiKey: TiKey }) {
  const task = useQuery({
    queryKey: ["task", tiKey.dagId, tiKey.taskId],
    queryFn: async () =>
      must(
        await api.GET("/api/v2/dags/{dag_id}/tasks/{task_id}", {
          params: { path: { dag_id: tiKey.dagId, task_id: tiKey.taskId } },
        }),
      ),
    staleTime: 60_000,
  });
  const doc = task.data?.doc_md;
  if (!doc) return null;
  return (
    <section className="ti-card" aria-label="Task docs">
      <h2>Docs</h2>
      <Markdown text={doc} label={`Documentation of ${tiKey.taskId}`} />
    </section>
  );
}

export function Tries({
  tiKey,
  ti,
  selected,
  onSelect,
}: {
  tiKey: TiKey;
  ti: TaskInstance;
  selected: number;
  onSelect: (tryNumber: number) => void;
}) {
  const tries = useQuery({
    queryKey: ["tiTries", tiKey.dagId, tiKey.runId, tiKey.taskId, tiKey.mapIndex, ti.try_number, ti.state],
    queryFn: async () =>
      must(
        await api.GET("/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/tries", {
          params: { path: path(tiKey), query: mapQuery(tiKey) },
        }),
      ),
  });
  const rows = (tries.data?.task_instances ?? []).filter((t) => t.try_number > 0);
  return (
    <section className="ti-card" aria-label="Tries">
      <h2>Tries</h2>
      {tries.isError && (
        <p role="alert" className="error">
          Reading the tries failed: {tries.error.message}
        </p>
      )}
      {tries.data && rows.length === 0 && <p className="muted">Not run yet.</p>}
      {rows.length > 0 && (
        <table className="ti-tries">
          <thead>
            <tr>
              <th>Try</th>
              <th>State</th>
              <th>Started</th>
              <th>Duration</th>
              <th>Host</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((t) => (
              <tr key={t.try_number} className={t.try_number === selected ? "selected" : undefined}>
                <td>
                  <button
                    type="button"
                    aria-pressed={t.try_number === selected}
                    aria-label={`Try ${t.try_number}`}
                    onClick={() => onSelect(t.try_number)}
                  >
                    {t.try_number}
                  </button>
                </td>
                <td>
                  <StateBadge state={t.state} />
                </td>
                <td>{formatDate(t.start_date)}</td>
                <td>{formatDuration(t.duration)}</td>
                <td>{t.hostname ?? "–"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function Dependencies({ tiKey, ti }: { tiKey: TiKey; ti: TaskInstance }) {
  const deps = useQuery({
    queryKey: ["tiDeps", tiKey.dagId, tiKey.runId, tiKey.taskId, tiKey.mapIndex, ti.state, ti.try_number],
    queryFn: async () =>
      must(
        await api.GET("/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/dependencies", {
          params: { path: path(tiKey), query: mapQuery(tiKey) },
        }),
      ),
    refetchInterval: 3000,
  });
  const list = deps.data?.dependencies ?? [];
  return (
    <section className="ti-card" aria-label="Dependencies">
      <h2>Why it is not running</h2>
      {deps.isError && (
        <p role="alert" className="error">
          Reading the dependencies failed: {deps.error.message}
        </p>
      )}
      {deps.data && list.length === 0 && <p className="muted">Every dependency is met.</p>}
      {list.length > 0 && (
        <dl className="ti-deps">
          {list.map((d, i) => (
            <div key={i}>
              <dt>{d.name}</dt>
              <dd>{d.reason}</dd>
            </div>
          ))}
        </dl>
      )}
    </section>
  );
}

const asText = (value: unknown) =>
  typeof value === "string" ? value : (JSON.stringify(value, null, 2) ?? String(value));

export function Rendered({ fields }: { fields: Record<string, unknown> | null | undefined }) {
  const entries = Object.entries(fields ?? {});
  return (
    <section className="ti-card" aria-label="Rendered templates">
      <h2>Rendered templates</h2>
      {entries.length === 0 ? (
        <p className="muted">Nothing rendered (yet).</p>
      ) : (
        <dl className="ti-rendered">
          {entries.map(([name, value]) => (
            <div key={name}>
              <dt>{name}</dt>
              <dd>
                <pre>{asText(value)}</pre>
              </dd>
            </div>
          ))}
        </dl>
      )}
    </section>
  );
}

const XCOM_PAGE = 10;

export function XComs({ tiKey, ti }: { tiKey: TiKey; ti: TaskInstance }) {
  const [offset, setOffset] = useState(0);
  const entries = useQuery({
    queryKey: [
      "tiXcom",
      tiKey.dagId,
      tiKey.runId,
      tiKey.taskId,
      tiKey.mapIndex,
      ti.state,
      ti.try_number,
      offset,
    ],
    queryFn: async () =>
      must(
        await api.GET("/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/xcomEntries", {
          params: { path: path(tiKey), query: { limit: XCOM_PAGE, offset, ...mapQuery(tiKey) } },
        }),
      ),
  });
  const total = entries.data?.total_entries ?? 0;
  return (
    <section className="ti-card" aria-label="XCom">
      <h2>XCom</h2>
      {entries.isError && (
        <p role="alert" className="error">
          Reading the XCom entries failed: {entries.error.message}
        </p>
      )}
      {entries.data && total === 0 && <p className="muted">No XCom entries.</p>}
      {total > 0 && (
        <dl className="ti-rendered">
          {entries.data!.xcom_entries.map((x) => (
            <XComValue
              key={`${x.key}\u0000${x.map_index}`}
              tiKey={tiKey}
              xcomKey={x.key}
              stamp={x.timestamp}
            />
          ))}
        </dl>
      )}
      {total > XCOM_PAGE && <Pager offset={offset} limit={XCOM_PAGE} total={total} onChange={setOffset} />}
    </section>
  );
}

function XComValue({ tiKey, xcomKey, stamp }: { tiKey: TiKey; xcomKey: string; stamp: string }) {
  const value = useQuery({
    queryKey: ["tiXcomValue", tiKey.dagId, tiKey.runId, tiKey.taskId, tiKey.mapIndex, xcomKey, stamp],
    queryFn: async () =>
      must(
        await api.GET(
          "/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/xcomEntries/{xcom_key}",
          { params: { path: { ...path(tiKey), xcom_key: xcomKey }, query: mapQuery(tiKey) } },
        ),
      ),
  });
  return (
    <div>
      <dt>{xcomKey}</dt>
      <dd>
        {value.isError ? (
          <span role="alert" className="error">
            Reading {xcomKey} failed: {value.error.message}
          </span>
        ) : (
          <pre>{value.data ? asText((value.data as { value: unknown }).value) : "…"}</pre>
        )}
      </dd>
    </div>
  );
}

const MAPPED_PAGE = 50;

/** A mapped task's instances in a run (Airflow's listMapped): state and label, each a link to its page. */
export function MappedInstances({ tiKey }: { tiKey: TiKey }) {
  const [offset, setOffset] = useState(0);
  const list = useQuery({
    queryKey: ["tiMapped", tiKey.dagId, tiKey.runId, tiKey.taskId, offset],
    queryFn: async () =>
      must(
        await api.GET("/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/listMapped", {
          params: { path: path(tiKey), query: { limit: MAPPED_PAGE, offset, order_by: ["map_index"] } },
        }),
      ),
    refetchInterval: (q) =>
      q.state.data?.task_instances.some((t) => t.state === null || LIVE_STATES.has(t.state)) ? 2000 : false,
  });
  const rows = list.data?.task_instances ?? [];
  const total = list.data?.total_entries ?? 0;
  return (
    <section className="ti-card" aria-label="Mapped task instances">
      <h2>Mapped task instances{list.data ? ` (${total})` : ""}</h2>
      {list.isError && (
        <p role="alert" className="error">
          Reading the mapped task instances failed: {list.error.message}
        </p>
      )}
      {list.data && total === 0 && (
        <p className="muted">Not expanded yet: its upstream tasks have not finished.</p>
      )}
      {rows.length > 0 && (
        <table className="ti-tries">
          <thead>
            <tr>
              <th>Map index</th>
              <th>Label</th>
              <th>State</th>
              <th>Tries</th>
              <th>Duration</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((t) => (
              <tr key={t.map_index}>
                <td>
                  <Link
                    href={hrefs.taskInstance(tiKey.dagId, tiKey.runId, tiKey.taskId, {
                      map_index: t.map_index,
                    })}
                  >
                    {t.map_index}
                  </Link>
                </td>
                <td>{t.rendered_map_index ?? ""}</td>
                <td>
                  <StateBadge state={t.state} />
                </td>
                <td>{t.try_number}</td>
                <td>{formatDuration(t.duration)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {total > MAPPED_PAGE && (
        <Pager offset={offset} limit={MAPPED_PAGE} total={total} onChange={setOffset} />
      )}
    </section>
  );
}
