/**
 * The Gantt of one run (`?run=`, or the latest): its task instances as bars on a time axis, queued
 * time faint and running time in the state's colour, sorted by start. Live while the run goes (the
 * states come from useRunTaskInstances); only the rows in view are drawn, so thousands cost nothing.
 */
import { useQuery } from "@tanstack/react-query";
import { useEffect, useMemo, useRef, useState } from "react";
import { api, must } from "../../api.ts";
import { StateBadge, stateColor } from "../../components/StateBadge.tsx";
import { formatDate, formatDuration, formatTime } from "../../components/time.ts";
import { useRunTaskInstances, type TaskInstance } from "../../live.ts";
import { hrefs, Link } from "../../router.tsx";
import { useUrlState } from "../../url.ts";
import { useRowWindow } from "../task-instance/windowing.ts";
import "./gantt.css";

const ROW_PX = 28;
const LIVE_RUN = new Set(["queued", "running"]);
const STEPS_S = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400];

function useGanttRun(dagId: string, runId: string | null) {
  return useQuery({
    queryKey: ["ganttRun", dagId, runId],
    queryFn: async () => {
      if (runId)
        return must(
          await api.GET("/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}", {
            params: { path: { dag_id: dagId, dag_run_id: runId } },
          }),
        );
      const page = must(
        await api.GET("/api/v2/dags/{dag_id}/dagRuns", {
          params: { path: { dag_id: dagId }, query: { limit: 1, order_by: ["-run_after"] } },
        }),
      );
      return page.dag_runs[0] ?? null;
    },
    refetchInterval: (q) => (LIVE_RUN.has(q.state.data?.state ?? "") ? 2000 : false),
  });
}

/** The clock, ticking while something runs, so running bars grow. */
function useNow(ticking: boolean) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!ticking) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [ticking]);
  return now;
}

const ms = (iso: string | null | undefined) => (iso ? Date.parse(iso) : null);
const firstMs = (ti: TaskInstance) => ms(ti.queued_when) ?? ms(ti.start_date);

interface Axis {
  from: number;
  to: number;
}

function axisOf(tis: TaskInstance[], now: number): Axis | null {
  let from = Infinity;
  let to = -Infinity;
  for (const ti of tis) {
    const start = firstMs(ti);
    if (start === null) continue;
    from = Math.min(from, start);
    to = Math.max(to, ms(ti.end_date) ?? now, ms(ti.start_date) ?? start);
  }
  if (from === Infinity) return null;
  return { from, to: Math.max(to, from + 1000) };
}

function ticksOf({ from, to }: Axis): number[] {
  const span = (to - from) / 1000;
  const step = (STEPS_S.find((s) => span / s <= 8) ?? 86400) * 1000;
  const out: number[] = [];
  for (let t = Math.ceil(from / step) * step; t <= to; t += step) out.push(t);
  return out;
}

export function GanttTab({ dagId }: { dagId: string }) {
  const [params] = useUrlState();
  const run = useGanttRun(dagId, params.get("run"));
  const runId = run.data?.dag_run_id ?? null;
  const live = LIVE_RUN.has(run.data?.state ?? "");
  const tis = useRunTaskInstances(dagId, runId, live);
  const now = useNow(live);
  const rows = useMemo(() => {
    const all = [...(tis.data?.byTask.values() ?? [])];
    return all.sort(
      (a, b) => (firstMs(a) ?? Infinity) - (firstMs(b) ?? Infinity) || a.task_id.localeCompare(b.task_id),
    );
  }, [tis.data]);
  const axis = axisOf(rows, now);

  if (run.isError || tis.isError)
    return (
      <p role="alert" className="error">
        Reading the run for the Gantt failed: {(run.error ?? tis.error)!.message}
      </p>
    );
  if (run.isPending || (runId && tis.isPending)) return <p className="muted">Loading the Gantt…</p>;
  if (!run.data) return <p className="muted">{dagId} has no runs yet.</p>;
  return (
    <section className="gantt" aria-label="Gantt chart">
      <p className="gantt-head">
        Run <strong>{runId}</strong> <StateBadge state={run.data.state} />{" "}
        <span className="muted">
          {formatDate(run.data.start_date)} · {rows.length} task instances
          {axis ? ` · ${formatDuration((axis.to - axis.from) / 1000)}` : ""}
        </span>
      </p>
      {axis ? (
        <GanttRows dagId={dagId} runId={runId!} rows={rows} axis={axis} now={now} />
      ) : (
        <p className="muted">No task instance of this run has been queued yet.</p>
      )}
    </section>
  );
}

function GanttRows({
  dagId,
  runId,
  rows,
  axis,
  now,
}: {
  dagId: string;
  runId: string;
  rows: TaskInstance[];
  axis: Axis;
  now: number;
}) {
  const box = useRef<HTMLDivElement>(null);
  const visible = useRowWindow(box, rows.length, ROW_PX);
  const pct = (t: number) => `${(((t - axis.from) / (axis.to - axis.from)) * 100).toFixed(3)}%`;
  const width = (a: number, b: number) => `${(((b - a) / (axis.to - axis.from)) * 100).toFixed(3)}%`;
  const ticks = ticksOf(axis);
  return (
    <div className="gantt-box" ref={box} tabIndex={0} role="group" aria-label="Task instances on a time axis">
      <div className="gantt-axis" aria-hidden>
        <span className="gantt-label" />
        <span className="gantt-track">
          {ticks.map((t) => (
            <span key={t} className="gantt-tick" style={{ left: pct(t) }}>
              {formatTime(t)}
            </span>
          ))}
        </span>
      </div>
      <div style={{ height: rows.length * ROW_PX, position: "relative" }}>
        <div style={{ transform: `translateY(${visible.start * ROW_PX}px)` }}>
          {rows.slice(visible.start, visible.end).map((ti) => {
            const queued = ms(ti.queued_when);
            const start = ms(ti.start_date);
            const end = ms(ti.end_date) ?? now;
            const label = `${ti.task_id}: ${(ti.state ?? "no status").replace(/_/g, " ")}, ${formatDuration(
              start === null ? null : (end - start) / 1000,
            )}`;
            return (
              <div className="gantt-row" key={ti.task_id} style={{ height: ROW_PX }}>
                <span className="gantt-label">
                  <Link href={hrefs.taskInstance(dagId, runId, ti.task_id)}>{ti.task_id}</Link>
                </span>
                <span className="gantt-track">
                  {ticks.map((t) => (
                    <span key={t} className="gantt-grid" style={{ left: pct(t) }} />
                  ))}
                  {queued !== null && (
                    <span
                      className="gantt-queued"
                      style={{ left: pct(queued), width: width(queued, start ?? end) }}
                    />
                  )}
                  {start !== null && (
                    <span
                      className="gantt-bar"
                      role="img"
                      aria-label={label}
                      title={`${label}\nstarted ${formatDate(ti.start_date)}\nended ${formatDate(ti.end_date)}`}
                      style={{ left: pct(start), width: width(start, end), background: stateColor(ti.state) }}
                    />
                  )}
                </span>
              </div>
            );
          })}
        </div>
      </div>
    </div>
  );
}
