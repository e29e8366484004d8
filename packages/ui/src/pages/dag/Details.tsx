/**
 * Every option of the DAG (get_dag_details) in groups: schedule, limits, state, file, people,
 * params and default args, with anything the groups do not name listed last so nothing is hidden.
 */
import { useQuery } from "@tanstack/react-query";
import { useEffect, type ReactNode } from "react";
import { api, must } from "../../api.ts";
import { Markdown } from "../../components/Markdown.tsx";
import { formatDate, setDagZone } from "../../components/time.ts";
import "./source.css";

export function useDagDetails(dagId: string) {
  return useQuery({
    queryKey: ["dagDetails", dagId],
    queryFn: async () =>
      must(await api.GET("/api/v2/dags/{dag_id}/details", { params: { path: { dag_id: dagId } } })),
  });
}

/** Makes the DAG's `timezone` the one the zone selector's "DAG's zone" means while its pages are open. */
export function useDagZoneOf(dagId: string): void {
  const zone = useDagDetails(dagId).data?.timezone ?? null;
  useEffect(() => {
    setDagZone(zone);
    return () => setDagZone(null);
  }, [zone]);
}

const GROUPS: [string, string[]][] = [
  [
    "Schedule",
    [
      "timetable_summary",
      "timetable_description",
      "start_date",
      "end_date",
      "timezone",
      "catchup",
      "next_dagrun_logical_date",
      "next_dagrun_run_after",
      "next_dagrun_data_interval_start",
      "next_dagrun_data_interval_end",
      "dag_run_timeout",
      "allowed_run_types",
      "asset_expression",
      "timetable_partitioned",
    ],
  ],
  [
    "Limits",
    [
      "max_active_runs",
      "max_active_tasks",
      "concurrency",
      "max_consecutive_failed_dag_runs",
      "has_task_concurrency_limits",
    ],
  ],
  [
    "State",
    [
      "is_paused",
      "is_paused_upon_creation",
      "is_stale",
      "active_runs_count",
      "has_import_errors",
      "last_expired",
    ],
  ],
  [
    "File",
    [
      "fileloc",
      "relative_fileloc",
      "bundle_name",
      "bundle_version",
      "latest_dag_version",
      "last_parsed_time",
      "last_parse_duration",
      "file_token",
    ],
  ],
  ["People", ["owners", "owner_links", "tags", "description"]],
  ["Parameters", ["params", "default_args", "render_template_as_native_obj", "template_search_path"]],
];
/** Shown elsewhere on the page or repeating another field (doc_md: above the groups, as Markdown). */
const SKIP = new Set(["dag_id", "dag_display_name", "last_parsed", "is_favorite", "doc_md"]);
const DATE = /(_date|_time|_after|_start|_end|last_expired)$/;

const label = (key: string) => key.replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase());

function show(key: string, value: unknown): ReactNode {
  if (value === null || value === undefined || value === "") return <span className="muted">–</span>;
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (key === "tags" && Array.isArray(value))
    return value.map((t: { name: string }) => (
      <span key={t.name} className="tag">
        {t.name}
      </span>
    ));
  if (key === "timetable_description" && typeof value === "string") return <strong>{value}</strong>;
  if (key === "last_parse_duration" && typeof value === "number") return `${value.toFixed(3)} s`;
  if (key === "latest_dag_version" && typeof value === "object") {
    const v = value as { version_number: number; created_at: string; bundle_version: string | null };
    return `version ${v.version_number}${v.bundle_version ? ` (${v.bundle_version})` : ""}, created ${formatDate(v.created_at)}`;
  }
  if (typeof value === "string" && DATE.test(key) && !Number.isNaN(Date.parse(value)))
    return formatDate(value);
  if (Array.isArray(value) && value.every((v) => typeof v === "string")) return value.join(", ") || "–";
  if (typeof value === "object") return <pre>{JSON.stringify(value, null, 2)}</pre>;
  return String(value);
}

export function DetailsTab({ dagId }: { dagId: string }) {
  const details = useDagDetails(dagId);
  if (details.isError)
    return (
      <p role="alert" className="error">
        Reading the details of {dagId} failed: {details.error.message}
      </p>
    );
  if (details.isPending) return <p className="muted">Loading the details…</p>;
  const record = details.data as unknown as Record<string, unknown>;
  const named = new Set(GROUPS.flatMap(([, keys]) => keys));
  const other = Object.keys(record).filter((k) => !named.has(k) && !SKIP.has(k));
  const groups: [string, string[]][] = [
    ...GROUPS,
    ...(other.length ? [["Other", other] as [string, string[]]] : []),
  ];
  return (
    <section className="details-tab" aria-label="DAG details">
      {details.data.doc_md && (
        <section className="details-group details-docs" aria-label="Docs">
          <h2>Docs</h2>
          <Markdown text={details.data.doc_md} label={`Documentation of ${dagId}`} />
        </section>
      )}
      {groups.map(([title, keys]) => (
        <section key={title} className="details-group" aria-label={title}>
          <h2>{title}</h2>
          <dl>
            {keys
              .filter((k) => k in record)
              .map((k) => (
                <div key={k}>
                  <dt>{label(k)}</dt>
                  <dd>{show(k, record[k])}</dd>
                </div>
              ))}
          </dl>
        </section>
      ))}
    </section>
  );
}
