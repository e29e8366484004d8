/**
 * The DAG's calendar (Airflow 3's): a year of days, each coloured by its runs' states (any failed:
 * failed; else any running or queued: running; else success), darker for more runs. Counted by the
 * server per UTC day of the logical date (`/ui/calendar/{dag_id}`). A day opens the Runs tab with
 * that day's runs. `?cal_year=` picks the year.
 */
import { useQuery } from "@tanstack/react-query";
import type { Client } from "openapi-fetch";
import { api, must } from "../../api.ts";
import { stateColor } from "../../components/StateBadge.tsx";
import { useUrlState } from "../../url.ts";
import "./calendar.css";

interface PeriodCount {
  date: string;
  state: string;
  count: number;
}
type Json<T> = { content: { "application/json": T } };
interface CalendarPaths {
  "/ui/calendar/{dag_id}": {
    get: {
      parameters: {
        path: { dag_id: string };
        query: { granularity?: "daily" | "hourly"; logical_date_gte?: string; logical_date_lte?: string };
      };
      responses: { 200: Json<{ total_entries: number; dag_runs: PeriodCount[] }> };
    };
  };
}
// Typed here: the UI's client is generated from Airflow's public spec, which has no /ui paths.
const calendarApi = api as unknown as Client<CalendarPaths>;

const DAY = 86_400_000;
const WEEKDAYS = ["Mon", "", "Wed", "", "Fri", "", ""];

/** A day's colour: the state that matters most among its runs. */
function dayState(counts: Map<string, number>): string {
  if (counts.has("failed")) return "failed";
  if (counts.has("running") || counts.has("queued")) return "running";
  return "success";
}

export function CalendarTab({ dagId }: { dagId: string }) {
  const [params, update] = useUrlState();
  const year = Number(params.get("cal_year")) || new Date().getUTCFullYear();
  const data = useQuery({
    queryKey: ["runs", dagId, "calendar", year],
    queryFn: async () =>
      must(
        await calendarApi.GET("/ui/calendar/{dag_id}", {
          params: {
            path: { dag_id: dagId },
            query: {
              granularity: "daily",
              logical_date_gte: `${year}-01-01T00:00:00Z`,
              logical_date_lte: `${year}-12-31T23:59:59.999Z`,
            },
          },
        }),
      ),
    refetchInterval: 10_000,
  });
  const byDay = new Map<string, Map<string, number>>();
  for (const r of data.data?.dag_runs ?? []) {
    const day = byDay.get(r.date) ?? new Map<string, number>();
    day.set(r.state, r.count);
    byDay.set(r.date, day);
  }
  const most = Math.max(1, ...[...byDay.values()].map((m) => [...m.values()].reduce((a, b) => a + b, 0)));
  // Weeks start on Monday; the first column holds January 1st.
  const first = Date.UTC(year, 0, 1);
  const lead = (new Date(first).getUTCDay() + 6) % 7;
  const days = Math.round((Date.UTC(year + 1, 0, 1) - first) / DAY);
  const cells = Array.from({ length: days }, (_, i) => {
    const date = new Date(first + i * DAY).toISOString().slice(0, 10);
    return { date, index: i + lead };
  });
  return (
    <section aria-label="Calendar" className="calendar">
      <div className="toolbar">
        <button
          type="button"
          aria-label="Previous year"
          onClick={() => update({ cal_year: String(year - 1) })}
        >
          ‹
        </button>
        <h2>{year}</h2>
        <button type="button" aria-label="Next year" onClick={() => update({ cal_year: String(year + 1) })}>
          ›
        </button>
        <span className="muted">Days of the logical date, UTC</span>
      </div>
      {data.isError && (
        <p role="alert" className="error">
          The calendar of {dagId} could not be read: {data.error.message}
        </p>
      )}
      <div className="calendar-grid" role="grid" aria-label={`Runs of ${dagId} in ${year}`}>
        {WEEKDAYS.map((w, i) => (
          <span key={`w${i}`} className="calendar-weekday" style={{ gridRow: i + 1, gridColumn: 1 }}>
            {w}
          </span>
        ))}
        {cells.map(({ date, index }) => {
          const counts = byDay.get(date);
          const total = counts ? [...counts.values()].reduce((a, b) => a + b, 0) : 0;
          const summary = counts
            ? [...counts].map(([state, n]) => `${n} ${state.replace(/_/g, " ")}`).join(", ")
            : "no runs";
          const style = {
            gridRow: (index % 7) + 1,
            gridColumn: Math.floor(index / 7) + 2,
            ...(counts
              ? {
                  background: stateColor(dayState(counts)),
                  opacity: 0.45 + 0.55 * (total / most),
                }
              : {}),
          };
          return counts ? (
            <button
              key={date}
              type="button"
              role="gridcell"
              className="calendar-day"
              style={style}
              aria-label={`${date}: ${summary}`}
              title={`${date}: ${summary}`}
              data-state={dayState(counts)}
              onClick={() => update({ tab: "runs", logical_day: date, run_offset: null })}
            />
          ) : (
            <span
              key={date}
              role="gridcell"
              className="calendar-day empty"
              style={style}
              aria-label={`${date}: no runs`}
              title={`${date}: no runs`}
            />
          );
        })}
      </div>
      <p className="muted calendar-legend">
        {["success", "running", "failed"].map((s) => (
          <span key={s}>
            <span className="calendar-swatch" style={{ background: stateColor(s) }} /> {s}
          </span>
        ))}
        <span>darker: more runs that day</span>
      </p>
    </section>
  );
}
