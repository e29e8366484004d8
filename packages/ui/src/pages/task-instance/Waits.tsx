/**
 * What a task instance waits on and where it leads: the trigger of a deferred one (Airflow's
 * TaskInstanceResponse.trigger and triggerer_job), a reschedule-mode sensor between its checks, and
 * the operator's extra links (a trigger_dagrun task's "Triggered DAG").
 */
import { useQuery } from "@tanstack/react-query";
import { api, must } from "../../api.ts";
import { formatDate } from "../../components/time.ts";
import type { TaskInstance } from "../../live.ts";
import { Link } from "../../router.tsx";
import type { TiKey } from "./Sections.tsx";

/** Fields Updraft adds to Airflow's response: how the try goes on, and when its wait times out. */
type WithWait = TaskInstance & { next_method?: string | null; trigger_timeout?: string | null };

export function Waiting({ ti }: { ti: WithWait }) {
  if (ti.state === "up_for_reschedule")
    return (
      <section className="ti-card" aria-label="Waiting">
        <h2>Waiting</h2>
        <p>
          Up for reschedule: its slot is free until its next check, which runs the same try ({ti.try_number}).
        </p>
      </section>
    );
  if (ti.state !== "deferred") return null;
  const trigger = ti.trigger;
  const rows: [string, string][] = trigger
    ? [
        ["Trigger", trigger.classpath],
        ["Created", formatDate(trigger.created_date)],
        ["Timeout", ti.trigger_timeout ? formatDate(ti.trigger_timeout) : "none"],
        [
          "Triggerer",
          ti.triggerer_job
            ? `${ti.triggerer_job.hostname ?? "?"} (job ${ti.triggerer_job.id})`
            : trigger.triggerer_id !== null
              ? `job ${trigger.triggerer_id}`
              : "not picked up yet",
        ],
      ]
    : [];
  return (
    <section className="ti-card" aria-label="Deferred">
      <h2>Deferred</h2>
      {!trigger && <p className="muted">Its trigger has fired; it resumes soon.</p>}
      {trigger && (
        <>
          <dl className="ti-facts">
            {rows.map(([label, value]) => (
              <div key={label}>
                <dt>{label}</dt>
                <dd>{value}</dd>
              </div>
            ))}
          </dl>
          <pre className="ti-trigger-kwargs" aria-label="Trigger arguments">
            {pretty(trigger.kwargs)}
          </pre>
        </>
      )}
    </section>
  );
}

function pretty(kwargs: string): string {
  try {
    return JSON.stringify(JSON.parse(kwargs), null, 2);
  } catch {
    return kwargs;
  }
}

/** The operator's extra links that lead somewhere (none for most tasks: then nothing is shown). */
export function ExtraLinks({ tiKey, ti }: { tiKey: TiKey; ti: TaskInstance }) {
  const links = useQuery({
    queryKey: ["tiLinks", tiKey.dagId, tiKey.runId, tiKey.taskId, tiKey.mapIndex, ti.try_number, ti.state],
    queryFn: async () =>
      must(
        await api.GET("/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/links", {
          params: {
            path: { dag_id: tiKey.dagId, dag_run_id: tiKey.runId, task_id: tiKey.taskId },
            query: (tiKey.mapIndex ?? -1) >= 0 ? { map_index: tiKey.mapIndex } : {},
          },
        }),
      ),
  });
  const entries = Object.entries(links.data?.extra_links ?? {});
  if (entries.length === 0) return null;
  return (
    <section className="ti-card" aria-label="Links">
      <h2>Links</h2>
      <ul className="ti-links">
        {entries.map(([name, url]) => (
          <li key={name}>
            {url ? (
              url.startsWith("/") ? (
                <Link href={url}>{name}</Link>
              ) : (
                <a href={url}>{name}</a>
              )
            ) : (
              <span className="muted">{name} (not yet)</span>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
