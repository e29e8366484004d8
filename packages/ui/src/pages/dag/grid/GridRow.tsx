/**
 * The grid's rows as drawn: the run header row (a bar per run, its height the run's duration) and
 * one row per task. A row is cut into segments of RUN_BLOCK columns, one per block of runs in view,
 * each memoised on its own block's data: scrolling sideways only mounts a segment when a block comes
 * into view, and a live update re-renders only the segments whose block changed.
 */
import { memo } from "react";
import { stateColor } from "../../../components/StateBadge.tsx";
import { hrefs } from "../../../router.tsx";
import { RUN_BLOCK, TASK_BLOCK, type CellBlock, type Run } from "./blocks.ts";

export const LABEL_W = 240;
export const COL_W = 18;

/** A position in the grid; row -1 is the run header row. */
export interface Position {
  row: number;
  col: number;
}

export const columnLeft = (col: number) => LABEL_W + col * COL_W;

export const runSeconds = (run: Run) =>
  run.duration ??
  (run.start_date
    ? ((run.end_date ? Date.parse(run.end_date) : Date.now()) - Date.parse(run.start_date)) / 1000
    : 0);

const activeIn = (start: number, activeCol: number) =>
  activeCol >= start && activeCol < start + RUN_BLOCK ? activeCol : -1;

const HeaderSegment = memo(function HeaderSegment({
  start,
  runs,
  longest,
  selected,
  activeCol,
}: {
  start: number;
  runs: Run[];
  longest: number;
  selected: string | null;
  activeCol: number;
}) {
  return runs.map((run, i) => (
    <div
      role="columnheader"
      aria-colindex={start + i + 2}
      key={start + i}
      className="grid-run"
      style={{ left: columnLeft(start + i) }}
    >
      <button
        type="button"
        className={run.dag_run_id === selected ? "selected" : undefined}
        aria-label={`Run ${run.dag_run_id}: ${run.state}`}
        aria-pressed={run.dag_run_id === selected}
        tabIndex={activeCol === start + i ? 0 : -1}
        data-pos={`-1:${start + i}`}
        data-tip=""
      >
        <span
          className="grid-run-bar"
          style={{
            height: `${Math.max(8, (runSeconds(run) / longest) * 100)}%`,
            background: stateColor(run.state),
          }}
        />
      </button>
    </div>
  ));
});

export function RunHeaderRow({
  runStarts,
  runs,
  selected,
  activeCol,
}: {
  runStarts: number[];
  runs: Map<number, Run[]>;
  selected: string | null;
  activeCol: number;
}) {
  const shown = runStarts.flatMap((s) => runs.get(s) ?? []);
  const longest = Math.max(1, ...shown.map(runSeconds));
  return (
    <div role="row" aria-rowindex={1} className="grid-head">
      <div role="columnheader" className="grid-corner">
        Task
      </div>
      {runStarts.map((start) => {
        const blockRuns = runs.get(start);
        return (
          blockRuns && (
            <HeaderSegment
              key={start}
              start={start}
              runs={blockRuns}
              longest={longest}
              selected={selected}
              activeCol={activeIn(start, activeCol)}
            />
          )
        );
      })}
    </div>
  );
}

const RowSegment = memo(function RowSegment({
  dagId,
  taskId,
  row,
  start,
  runs,
  block,
  activeCol,
}: {
  dagId: string;
  taskId: string;
  row: number;
  start: number;
  runs: Run[] | undefined;
  block: CellBlock | undefined;
  activeCol: number;
}) {
  if (!runs) return null;
  // One positioned box per block; its cells sit in a row inside it, so cells need no position each.
  return (
    <div role="none" className="grid-seg" style={{ left: columnLeft(start) }}>
      {runs.map((run, i) => {
        const col = start + i;
        const byTask = block?.byRun.get(run.dag_run_id);
        if (!byTask) return <span key={col} aria-hidden className="grid-cell pending" />;
        const state = byTask.get(taskId)?.ti.state ?? null;
        return (
          <a
            key={col}
            role="gridcell"
            className={state ? "grid-cell" : "grid-cell none"}
            href={hrefs.taskInstance(dagId, run.dag_run_id, taskId)}
            aria-label={`${taskId} ${run.dag_run_id}: ${state ?? "no status"}`}
            aria-colindex={col + 2}
            tabIndex={activeCol === col ? 0 : -1}
            data-pos={`${row}:${col}`}
            data-state={state ?? "none"}
            data-tip=""
            style={state ? { background: stateColor(state) } : undefined}
          />
        );
      })}
    </div>
  );
});

export const GridRow = memo(function GridRow({
  dagId,
  taskId,
  row,
  top,
  runStarts,
  runs,
  cells,
  activeCol,
}: {
  dagId: string;
  taskId: string;
  row: number;
  top: number;
  runStarts: number[];
  runs: Map<number, Run[]>;
  cells: Map<string, CellBlock>;
  activeCol: number;
}) {
  const taskStart = row - (row % TASK_BLOCK);
  return (
    <div role="row" aria-rowindex={row + 2} className="grid-row" style={{ top }}>
      <div role="rowheader" className="grid-label" title={taskId}>
        {taskId}
      </div>
      {runStarts.map((start) => (
        <RowSegment
          key={start}
          dagId={dagId}
          taskId={taskId}
          row={row}
          start={start}
          runs={runs.get(start)}
          block={cells.get(`${start}:${taskStart}`)}
          activeCol={activeIn(start, activeCol)}
        />
      ))}
    </div>
  );
});
