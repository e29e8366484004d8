/**
 * The DAG's graph view: its tasks laid out left to right in a web worker (ELK for ordinary DAGs, a
 * fast layered layout for huge ones), drawn by React Flow with only what is on screen rendered, the
 * selected run's states (`?run=`, else the latest run) coloured on it and kept live, and the task
 * chosen (`?task=`) detailed in a side panel.
 */
import "@xyflow/react/dist/base.css";
import { useQuery } from "@tanstack/react-query";
import { useMemo, useRef, useState, type FormEvent } from "react";
import { api, must } from "../../api.ts";
import { LIVE_STATES } from "../../components/StateBadge.tsx";
import { useRunTaskInstances } from "../../live.ts";
import { useUrlState } from "../../url.ts";
import { GraphCanvas } from "./graph/GraphCanvas.tsx";
import { RunPicker, useRecentRuns } from "./graph/RunPicker.tsx";
import { GraphMarksContext } from "./graph/TaskNode.tsx";
import { TaskPanel, type Task } from "./graph/TaskPanel.tsx";
import { useLayout, type GraphShape } from "./graph/useLayout.ts";
import "./graph.css";

function useTasks(dagId: string) {
  return useQuery({
    queryKey: ["tasks", dagId],
    queryFn: async () =>
      must(await api.GET("/api/v2/dags/{dag_id}/tasks", { params: { path: { dag_id: dagId } } })).tasks,
    staleTime: 60_000,
  });
}

/** Task ids and edges as the layout takes them, plus each task's upstream ids for the panel. */
function shapeOf(tasks: Task[]): GraphShape & { upstream: Map<string, string[]> } {
  const ids = tasks.map((t) => t.task_id!);
  const index = new Map(ids.map((id, i) => [id, i]));
  const edges: number[] = [];
  const upstream = new Map<string, string[]>(ids.map((id) => [id, []]));
  tasks.forEach((t, i) => {
    for (const down of t.downstream_task_ids ?? []) {
      const j = index.get(down);
      if (j === undefined) continue;
      edges.push(i, j);
      upstream.get(down)!.push(ids[i]!);
    }
  });
  return { ids, edges: Int32Array.from(edges), upstream };
}

export function GraphTab({ dagId }: { dagId: string }) {
  const [params, update] = useUrlState();
  const tasks = useTasks(dagId);
  const shape = useMemo(() => (tasks.data ? shapeOf(tasks.data) : undefined), [tasks.data]);
  const layout = useLayout(dagId, shape);
  const runs = useRecentRuns(dagId, params.get("run"));
  const runId = params.get("run") ?? runs.data?.[0]?.dag_run_id ?? null;
  const run = runs.data?.find((r) => r.dag_run_id === runId);
  const live = !run || LIVE_STATES.has(run.state) || run.state === "running";
  const tis = useRunTaskInstances(dagId, runId, live);
  const selected = params.get("task");
  const [focus, setFocus] = useState<{ id: string } | null>(null);
  const byId = useMemo(() => new Map((tasks.data ?? []).map((t) => [t.task_id!, t])), [tasks.data]);
  const marks = useMemo(() => ({ states: tis.data?.byTask, selected }), [tis.data, selected]);
  const select = (taskId: string | null, replace = false) => update({ task: taskId }, { replace });

  return (
    <div className="graph-view">
      <div className="toolbar graph-toolbar">
        <RunPicker dagId={dagId} runs={runs.data ?? []} runId={runId} onPick={(r) => update({ run: r })} />
        <FindTask
          ids={shape?.ids ?? []}
          onFound={(id) => {
            select(id);
            setFocus({ id });
          }}
        />
        <span className="spacer" />
        {layout?.ok && (
          <span className="muted graph-stats" data-testid="graph-stats">
            {shape?.ids.length} tasks · laid out in {Math.round(layout.ms)} ms (
            {layout.engine === "elk" ? "ELK" : "fast layered"})
          </span>
        )}
      </div>
      {tasks.isError && (
        <p role="alert" className="error">
          Could not read the tasks of {dagId}: {tasks.error.message}
        </p>
      )}
      {runs.isError && (
        <p role="alert" className="error">
          Could not read the runs of {dagId}: {runs.error.message}
        </p>
      )}
      {tis.isError && (
        <p role="alert" className="error">
          Could not read the task instances of run {runId}: {tis.error.message}
        </p>
      )}
      {layout && !layout.ok && (
        <p role="alert" className="error">
          Could not lay out the graph of {dagId}: {layout.error}
        </p>
      )}
      <div className="graph-body">
        <GraphMarksContext value={marks}>
          {shape && layout?.ok ? (
            <GraphCanvas
              shape={shape}
              layout={layout}
              operators={byId}
              focus={focus}
              onSelect={(id) => select(id)}
            />
          ) : (
            !tasks.isError && (
              <p className="muted graph-loading" role="status">
                {tasks.isPending ? "Reading the tasks…" : "Laying out the graph…"}
              </p>
            )
          )}
        </GraphMarksContext>
        {selected && byId.get(selected) && (
          <TaskPanel
            dagId={dagId}
            task={byId.get(selected)!}
            upstream={shape?.upstream.get(selected) ?? []}
            runId={runId}
            ti={tis.data?.byTask.get(selected)}
            onSelect={(id) => {
              select(id);
              setFocus({ id });
            }}
            onClose={() => select(null)}
          />
        )}
      </div>
    </div>
  );
}

/** Finds a task by (part of) its id and selects it: the keyboard's way to a node. */
function FindTask({ ids, onFound }: { ids: string[]; onFound: (id: string) => void }) {
  const input = useRef<HTMLInputElement>(null);
  const [missing, setMissing] = useState<string | null>(null);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const text = input.current?.value.trim() ?? "";
    if (!text) return;
    const found = ids.find((id) => id === text) ?? ids.find((id) => id.includes(text));
    setMissing(found ? null : text);
    if (found) onFound(found);
  };
  return (
    <form className="graph-find" onSubmit={submit} role="search">
      <input ref={input} aria-label="Find task" placeholder="Find task…" />
      <button type="submit">Find</button>
      {missing && (
        <span role="alert" className="error">
          No task matches “{missing}”
        </span>
      )}
    </form>
  );
}
