/**
 * The DAG's graph view: its tasks laid out left to right in a web worker (ELK for ordinary DAGs, a
 * fast layered layout for huge ones), drawn by React Flow with only what is on screen rendered, the
 * selected run's states (`?run=`, else the latest run) coloured on it and kept live, and the task
 * chosen (`?task=`) detailed in a side panel. Task groups (from the structure endpoint) start
 * collapsed, each one node, and open in place on click.
 */
import "@xyflow/react/dist/base.css";
import { useQuery } from "@tanstack/react-query";
import { useCallback, useMemo, useRef, useState, type FormEvent } from "react";
import { api, must } from "../../api.ts";
import { LIVE_STATES } from "../../components/StateBadge.tsx";
import { useRunTaskInstances } from "../../live.ts";
import { useUrlState } from "../../url.ts";
import { ancestorsOf, indexStructure, visibleGraph } from "./groups.ts";
import { useOpenGroups } from "./open-groups.ts";
import { GraphCanvas, type Focus, type NodeInfo } from "./graph/GraphCanvas.tsx";
import { RunPicker, useRecentRuns } from "./graph/RunPicker.tsx";
import { GraphMarksContext } from "./graph/TaskNode.tsx";
import { TaskPanel, type Task } from "./graph/TaskPanel.tsx";
import type { LayoutAnswer } from "./graph/types.ts";
import { useLayout, type GraphShape } from "./graph/useLayout.ts";
import { useStructure } from "./structure-api.ts";
import { runVersion } from "./versions.ts";
import "./graph.css";

function useTasks(dagId: string) {
  return useQuery({
    queryKey: ["tasks", dagId],
    queryFn: async () =>
      must(await api.GET("/api/v2/dags/{dag_id}/tasks", { params: { path: { dag_id: dagId } } })).tasks,
    staleTime: 60_000,
  });
}

/** Each task's direct upstream tasks, for the panel. */
function upstreamOf(tasks: Task[]): Map<string, string[]> {
  const upstream = new Map<string, string[]>(tasks.map((t) => [t.task_id!, []]));
  for (const t of tasks) for (const down of t.downstream_task_ids ?? []) upstream.get(down)?.push(t.task_id!);
  return upstream;
}

/**
 * The last shape whose layout is ready, with that layout: while a group opens or closes, the graph
 * stays drawn (and where the user moved it) until the new layout arrives.
 */
function useSettled(shape: GraphShape | undefined, layout: LayoutAnswer | undefined) {
  const settled = useRef<{ shape: GraphShape; layout: LayoutAnswer } | null>(null);
  if (shape && layout) settled.current = { shape, layout };
  return settled.current;
}

export function GraphTab({ dagId }: { dagId: string }) {
  const [params, update] = useUrlState();
  const tasks = useTasks(dagId);
  const runs = useRecentRuns(dagId, params.get("run"));
  const runId = params.get("run") ?? runs.data?.[0]?.dag_run_id ?? null;
  const run = runs.data?.find((r) => r.dag_run_id === runId);
  // A run's graph is of the version it was created with (the tasks it had), not the newest.
  const version = runVersion(run);
  const structure = useStructure(dagId, version);
  const index = useMemo(
    () => (structure.data ? indexStructure(structure.data) : undefined),
    [structure.data],
  );
  const { open: expanded, update: setExpanded, toggle: flip } = useOpenGroups(dagId);
  const shape = useMemo(() => {
    if (!structure.data || !index) return undefined;
    const visible = visibleGraph(structure.data, expanded);
    // Without groups the layout gets what it always got: tasks and edges.
    return index.groups.size > 0 ? visible : { ids: visible.ids, edges: visible.edges };
  }, [structure.data, index, expanded]);
  const drawn = useSettled(shape, useLayout(dagId, shape));
  const layout = drawn?.layout;
  const live = !run || LIVE_STATES.has(run.state) || run.state === "running";
  const tis = useRunTaskInstances(dagId, runId, live);
  const selected = params.get("task");
  const [focus, setFocus] = useState<Focus | null>(null);
  const byId = useMemo(() => new Map((tasks.data ?? []).map((t) => [t.task_id!, t])), [tasks.data]);
  const upstream = useMemo(() => upstreamOf(tasks.data ?? []), [tasks.data]);
  const info = useMemo<NodeInfo | undefined>(
    () =>
      index && {
        labels: index.labels,
        operators: index.operators,
        groups: index.groups,
        marks: index.marks,
        setupTeardownEdges: index.setupTeardownEdges,
      },
    [index],
  );
  /** Opens or closes a group, and keeps it in view once the graph is laid out again. */
  const toggle = useCallback(
    (groupId: string) => {
      flip(groupId);
      setFocus({ id: groupId, whole: true });
    },
    [flip],
  );
  const marks = useMemo(() => ({ states: tis.data?.byTask, selected, toggle }), [tis.data, selected, toggle]);
  const select = (taskId: string | null, replace = false) => update({ task: taskId }, { replace });
  /** Selects a task and brings it into view, opening the groups it is in. */
  const reveal = (taskId: string) => {
    const around = index ? ancestorsOf(index, taskId) : [];
    if (around.some((g) => !expanded.has(g))) setExpanded((open) => new Set([...open, ...around]));
    select(taskId);
    setFocus({ id: taskId });
  };

  return (
    <div className="graph-view">
      <div className="toolbar graph-toolbar">
        <RunPicker
          dagId={dagId}
          runs={runs.data ?? []}
          runId={runId}
          loaded={runs.isSuccess}
          onPick={(r) => update({ run: r })}
        />
        {version !== null && (
          <span
            className="muted"
            data-testid="graph-version"
            title="The DAG version this run was created with"
          >
            DAG version {version}
          </span>
        )}
        <FindTask ids={index?.taskIds ?? []} onFound={reveal} />
        {index && index.groups.size > 0 && (
          <>
            <button type="button" onClick={() => setExpanded(() => new Set(index.groups.keys()))}>
              Expand all groups
            </button>
            <button type="button" onClick={() => setExpanded(() => new Set())}>
              Collapse all groups
            </button>
          </>
        )}
      </div>
      {structure.isError && (
        <p role="alert" className="error">
          Could not read the tasks of {dagId}: {structure.error.message}
        </p>
      )}
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
          {drawn && layout?.ok && info ? (
            <GraphCanvas
              shape={drawn.shape}
              layout={layout}
              tasks={index?.taskIds.length ?? 0}
              ms={layout.ms}
              info={info}
              focus={focus}
              onSelect={(id) => select(id)}
            />
          ) : (
            !structure.isError && (
              <p className="muted graph-loading" role="status">
                {structure.isPending ? "Reading the tasks…" : "Laying out the graph…"}
              </p>
            )
          )}
        </GraphMarksContext>
        {selected && byId.get(selected) && (
          <TaskPanel
            dagId={dagId}
            task={byId.get(selected)!}
            upstream={upstream.get(selected) ?? []}
            runId={runId}
            ti={tis.data?.byTask.get(selected)}
            onSelect={reveal}
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
