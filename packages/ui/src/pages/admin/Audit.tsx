/**
 * The audit log (event logs), newest first, paged on the server: when, who, what, on which DAG, task
 * and run, and the extra details. Filters by DAG, event, owner and a date range live in the URL.
 */
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { api, must } from "../../api.ts";
import { formatDate } from "../../components/time.ts";
import { hrefs, Link } from "../../router.tsx";
import { EmptyRow, Failure, ListFooter, useListState } from "./common.tsx";

const TEXT_FILTERS = [
  { name: "dag_id", label: "DAG id" },
  { name: "event", label: "Event" },
  { name: "owner", label: "Owner" },
] as const;

/** A datetime-local value (local time) as the ISO instant the API wants, or null. */
const isoOf = (local: string | null) => {
  if (!local) return null;
  const time = Date.parse(local);
  return Number.isNaN(time) ? null : new Date(time).toISOString();
};

export function AuditSection() {
  const { params, update, limit, offset } = useListState(50);
  const filters = Object.fromEntries(TEXT_FILTERS.map((f) => [f.name, params.get(f.name) ?? ""]));
  const after = params.get("after");
  const before = params.get("before");
  const list = useQuery({
    queryKey: ["eventLogs", filters, after, before, offset, limit],
    placeholderData: keepPreviousData,
    queryFn: async () =>
      must(
        await api.GET("/api/v2/eventLogs", {
          params: {
            query: {
              limit,
              offset,
              order_by: ["-when", "-event_log_id"],
              ...Object.fromEntries(Object.entries(filters).filter(([, v]) => v)),
              ...(isoOf(after) ? { after: isoOf(after)! } : {}),
              ...(isoOf(before) ? { before: isoOf(before)! } : {}),
            },
          },
        }),
      ),
  });
  return (
    <>
      <div className="toolbar">
        <h1>Audit log</h1>
      </div>
      <form className="audit-filters" aria-label="Audit log filters" onSubmit={(e) => e.preventDefault()}>
        {TEXT_FILTERS.map((f) => (
          <label key={f.name}>
            {f.label}
            <input
              type="search"
              defaultValue={filters[f.name]}
              onChange={(e) => update({ [f.name]: e.target.value.trim(), offset: null }, { replace: true })}
            />
          </label>
        ))}
        <label>
          From
          <input
            type="datetime-local"
            value={after ?? ""}
            onChange={(e) => update({ after: e.target.value, offset: null })}
          />
        </label>
        <label>
          To
          <input
            type="datetime-local"
            value={before ?? ""}
            onChange={(e) => update({ before: e.target.value, offset: null })}
          />
        </label>
      </form>
      <Failure what="Could not read the audit log" error={list.error} />
      <table aria-label="Audit log">
        <thead>
          <tr>
            <th>When</th>
            <th>Owner</th>
            <th>Event</th>
            <th>DAG</th>
            <th>Task</th>
            <th>Run</th>
            <th>Extra</th>
          </tr>
        </thead>
        <tbody>
          {list.data?.event_logs.map((e) => (
            <tr key={e.event_log_id}>
              <td>{formatDate(e.when)}</td>
              <td>{e.owner}</td>
              <td>
                <code>{e.event}</code>
              </td>
              <td>{e.dag_id && <Link href={hrefs.dag(e.dag_id)}>{e.dag_id}</Link>}</td>
              <td>{e.task_id}</td>
              <td>
                {e.dag_id && e.run_id && (
                  <Link href={hrefs.dag(e.dag_id, { run: e.run_id })}>{e.run_id}</Link>
                )}
              </td>
              <td className="audit-extra">{extraText(e.extra)}</td>
            </tr>
          ))}
          {list.data?.event_logs.length === 0 && <EmptyRow colSpan={7}>No events match.</EmptyRow>}
        </tbody>
      </table>
      <ListFooter offset={offset} limit={limit} total={list.data?.total_entries ?? 0} update={update} />
    </>
  );
}

/** The extra JSON as key=value pairs, without the request's own path and method (noise in a list). */
function extraText(extra: string | null): string {
  if (!extra) return "";
  try {
    const value = JSON.parse(extra) as Record<string, unknown>;
    if (!value || typeof value !== "object") return extra;
    return Object.entries(value)
      .filter(([k]) => k !== "method" && k !== "path")
      .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
      .join(" ");
  } catch {
    return extra;
  }
}
