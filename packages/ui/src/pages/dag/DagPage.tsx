/**
 * One DAG: its header (state, schedule, pause switch, trigger; owners, tags, latest and next run,
 * reparse, backfill) and its views as tabs — grid, graph, Gantt, calendar, runs, backfills, code, details. The URL holds the tab and the run and task on screen.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api, useRole, mayEditDags, must } from "../../api.ts";
import { DeleteDagDialog } from "../../components/DeleteDagDialog.tsx";
import { Schedule } from "../../components/Schedule.tsx";
import { Tabs } from "../../components/Tabs.tsx";
import { TriggerDialog } from "../../components/TriggerDialog.tsx";
import { hrefs, Link, navigate } from "../../router.tsx";
import { useUrlState } from "../../url.ts";
import { CodeTab } from "./Code.tsx";
import { DagHeader } from "./DagHeader.tsx";
import { DetailsTab, useDagZoneOf } from "./Details.tsx";
import { GanttTab } from "./Gantt.tsx";
import { GraphTab } from "./Graph.tsx";
import { GridTab } from "./Grid.tsx";
import { RunsTab } from "./Runs.tsx";
import { BackfillDialog, BackfillsTab } from "./Backfills.tsx";
import { CalendarTab } from "./Calendar.tsx";
import "./dag.css";

const TABS = [
  { id: "grid", label: "Grid" },
  { id: "graph", label: "Graph" },
  { id: "gantt", label: "Gantt" },
  { id: "calendar", label: "Calendar" },
  { id: "runs", label: "Runs" },
  { id: "backfills", label: "Backfills" },
  { id: "code", label: "Code" },
  { id: "details", label: "Details" },
] as const;
type Tab = (typeof TABS)[number]["id"];

export function DagPage({ dagId }: { dagId: string }) {
  const [params, update] = useUrlState();
  const tab = (TABS.find((t) => t.id === params.get("tab"))?.id ?? "grid") as Tab;
  const role = useRole();
  const canEdit = mayEditDags(role);
  const queries = useQueryClient();
  const [triggering, setTriggering] = useState(false);
  const [backfilling, setBackfilling] = useState(false);
  useDagZoneOf(dagId);
  const [deleting, setDeleting] = useState(false);
  const dag = useQuery({
    queryKey: ["dag", dagId],
    queryFn: async () =>
      must(await api.GET("/api/v2/dags/{dag_id}", { params: { path: { dag_id: dagId } } })),
  });
  const pause = useMutation({
    mutationFn: async (isPaused: boolean) =>
      must(
        await api.PATCH("/api/v2/dags/{dag_id}", {
          params: { path: { dag_id: dagId } },
          body: { is_paused: isPaused },
        }),
      ),
    onSuccess: () => queries.invalidateQueries({ queryKey: ["dag", dagId] }),
  });
  if (dag.isError)
    return (
      <main>
        <p role="alert" className="error">
          {dagId}: {dag.error.message}
        </p>
        <Link href={hrefs.dags()}>Back to the DAGs</Link>
      </main>
    );
  return (
    <main className="dag-page">
      <div className="toolbar">
        <Link href={hrefs.dags()}>DAGs</Link>
        <span aria-hidden>/</span>
        <h1>{dagId}</h1>
        {dag.data && (
          <>
            <label className="switch">
              <input
                type="checkbox"
                role="switch"
                aria-label={`${dagId} active`}
                checked={!dag.data.is_paused}
                disabled={!canEdit}
                onChange={(e) => pause.mutate(!e.target.checked)}
              />
              {dag.data.is_paused ? "Paused" : "Active"}
            </label>
            <Schedule
              className="muted"
              summary={dag.data.timetable_summary}
              description={dag.data.timetable_description}
            />
          </>
        )}
        <span className="spacer" />
        {canEdit && <button onClick={() => setTriggering(true)}>Trigger</button>}
        {/* Only a timetable has intervals to backfill; the server says why for asset schedules. */}
        {canEdit && dag.data && dag.data.timetable_summary !== "None" && (
          <button onClick={() => setBackfilling(true)}>Backfill</button>
        )}
        {role === "Admin" && (
          <button className="danger" onClick={() => setDeleting(true)}>
            Delete DAG
          </button>
        )}
        <DeleteDagDialog
          dagId={dagId}
          open={deleting}
          onClose={() => setDeleting(false)}
          onDeleted={() => navigate(hrefs.dags())}
        />
      </div>
      {dag.data?.description && <p className="muted">{dag.data.description}</p>}
      {dag.data && <DagHeader dag={dag.data} canEdit={canEdit} />}
      <Tabs
        label="DAG views"
        tabs={TABS}
        current={tab}
        onChange={(t) => update({ tab: t === "grid" ? null : t })}
      />
      <section className="tab-panel" role="tabpanel" aria-label={TABS.find((t) => t.id === tab)!.label}>
        {tab === "grid" && <GridTab dagId={dagId} />}
        {tab === "graph" && <GraphTab dagId={dagId} />}
        {tab === "gantt" && <GanttTab dagId={dagId} />}
        {tab === "calendar" && <CalendarTab dagId={dagId} />}
        {tab === "runs" && <RunsTab dagId={dagId} />}
        {tab === "backfills" && <BackfillsTab dagId={dagId} />}
        {tab === "code" && <CodeTab dagId={dagId} />}
        {tab === "details" && <DetailsTab dagId={dagId} />}
      </section>
      <BackfillDialog
        dagId={dagId}
        open={backfilling}
        onClose={() => setBackfilling(false)}
        onCreated={() => {
          setBackfilling(false);
          void queries.invalidateQueries({ queryKey: ["backfills", dagId] });
          void queries.invalidateQueries({ queryKey: ["runs", dagId] });
          update({ tab: "backfills" });
        }}
      />
      <TriggerDialog
        dagId={dagId}
        open={triggering}
        onClose={() => setTriggering(false)}
        onTriggered={(run) => {
          setTriggering(false);
          void queries.invalidateQueries({ queryKey: ["runs", dagId] });
          update({ run: run.dag_run_id, task: null });
        }}
      />
    </main>
  );
}
