/**
 * The grid's rows as drawn: the run header row (a bar per run, its height the run's duration) and
 * one row per task or task group. A row is cut into segments of RUN_BLOCK columns, one per block of runs in view,
 * each memoised on its own block's data: scrolling sideways only mounts a segment when a block comes
 * into view, and a live update re-renders only the segments whose block changed.
 */
import { memo, useLayoutEffect, useRef } from "react";
import { stateColor } from "../../../components/StateBadge.tsx";
import { hrefs } from "../../../router.tsx";
import { groupState, type GridRowItem } from "../groups.ts";
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

/** A cell's address without its task: the same as hrefs.taskInstance, built once per run. */
const runHrefs = new Map<string, string>();
const runHref = (dagId: string, runId: string) => {
  const key = `${dagId}\n${runId}`;
  let href = runHrefs.get(key);
  if (href === undefined) {
    href = hrefs.taskInstance(dagId, runId, "");
    runHrefs.set(key, href);
  }
  return href;
};

const ESCAPES: Record<string, string> = { "&": "&amp;", '"': "&quot;", "<": "&lt;", ">": "&gt;" };
const escape = (text: string) => text.replace(/[&"<>]/g, (c) => ESCAPES[c]!);

/**
 * A segment's cells as markup. Scrolling creates hundreds of cells a frame; parsed from one string
 * they cost a fraction of what as many React elements (and their attributes, one call each) do.
 * Cells carry no inline style: the colour comes from data-state in grid.css.
 */
function segmentHtml(
  dagId: string,
  taskId: string,
  start: number,
  runs: Run[],
  block: CellBlock,
  activeCol: number,
) {
  const task = encodeURIComponent(taskId);
  const label = escape(taskId);
  let html = "";
  runs.forEach((run, i) => {
    const col = start + i;
    const byTask = block.byRun.get(run.dag_run_id);
    if (!byTask) {
      html += '<span aria-hidden="true" class="grid-cell pending"></span>';
      return;
    }
    const cell = byTask.get(taskId);
    const state = cell?.ti.state ?? null;
    // A mapped task: the state that matters most among its instances, and how many there are.
    const mapped = cell && (cell.count > 1 || cell.ti.map_index >= 0) ? cell.count : 0;
    html +=
      `<a role="gridcell" class="${state ? "grid-cell" : "grid-cell none"}${mapped ? " mapped" : ""}"` +
      ` href="${escape(runHref(dagId, run.dag_run_id) + task)}"` +
      (mapped ? ` data-mapped="${mapped}" title="${mapped} mapped task instances"` : "") +
      ` aria-label="${label} ${escape(run.dag_run_id)}: ${escape(state ?? "no status")}${mapped ? ` (${mapped} mapped)` : ""}"` +
      ` aria-colindex="${col + 2}" tabindex="${activeCol === col ? 0 : -1}" data-state="${escape(state ?? "none")}"></a>`;
  });
  return html;
}

/** A group row's cells: its tasks' summary state per run; not links (a group has no instance page). */
function groupSegmentHtml(
  item: GridRowItem,
  start: number,
  runs: Run[],
  block: CellBlock,
  activeCol: number,
) {
  const label = escape(item.id);
  let html = "";
  runs.forEach((run, i) => {
    const col = start + i;
    const byTask = block.byRun.get(run.dag_run_id);
    if (!byTask) {
      html += '<span aria-hidden="true" class="grid-cell pending"></span>';
      return;
    }
    const state = groupState(item.tasks.map((id) => byTask.get(id)?.ti.state ?? null));
    html +=
      `<span role="gridcell" class="${state ? "grid-cell group" : "grid-cell group none"}"` +
      ` aria-label="${label} ${escape(run.dag_run_id)}: ${escape(state ?? "no status")}"` +
      ` aria-colindex="${col + 2}" tabindex="${activeCol === col ? 0 : -1}" data-state="${escape(state ?? "none")}"></span>`;
  });
  return html;
}

const RowSegment = memo(function RowSegment({
  dagId,
  item,
  start,
  runs,
  block,
  activeCol,
}: {
  dagId: string;
  item: GridRowItem;
  start: number;
  runs: Run[] | undefined;
  block: CellBlock | undefined;
  activeCol: number;
}) {
  const ref = useRef<HTMLDivElement>(null);
  const html =
    runs && block
      ? item.group
        ? groupSegmentHtml(item, start, runs, block, activeCol)
        : segmentHtml(dagId, item.id, start, runs, block, activeCol)
      : "";
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    // A live update redraws the cells: the focused one keeps the focus.
    const focused = el.contains(document.activeElement)
      ? document.activeElement!.getAttribute("aria-colindex")
      : null;
    el.innerHTML = html;
    if (focused)
      el.querySelector<HTMLElement>(`[aria-colindex="${focused}"]`)?.focus({ preventScroll: true });
  }, [html]);
  if (!runs) return null;
  const left = columnLeft(start);
  // Not read yet: one placeholder for the whole block instead of a box per cell.
  if (!block)
    return (
      <span aria-hidden className="grid-seg grid-pending" style={{ left, width: runs.length * COL_W }} />
    );
  // One positioned box per block; its cells sit in a row inside it, so cells need no position each.
  return <div ref={ref} role="none" className="grid-seg" style={{ left }} />;
});

export const GridRow = memo(function GridRow({
  dagId,
  item,
  onToggle,
  row,
  top,
  runStarts,
  runs,
  cells,
  activeCol,
}: {
  dagId: string;
  item: GridRowItem;
  onToggle: (groupId: string) => void;
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
      <div
        role="rowheader"
        className={item.group ? "grid-label grid-group" : "grid-label"}
        title={item.id}
        style={{ paddingLeft: `calc(0.7rem + ${item.depth * 14}px)` }}
      >
        {item.group && (
          <button
            type="button"
            className="grid-toggle"
            aria-expanded={item.expanded}
            aria-label={`${item.expanded ? "Collapse" : "Expand"} task group ${item.id}`}
            onClick={() => onToggle(item.id)}
          >
            {item.expanded ? "▾" : "▸"}
          </button>
        )}
        {item.label}
      </div>
      {runStarts.map((start) => (
        <RowSegment
          key={start}
          dagId={dagId}
          item={item}
          start={start}
          runs={runs.get(start)}
          block={cells.get(`${start}:${taskStart}`)}
          activeCol={activeIn(start, activeCol)}
        />
      ))}
    </div>
  );
});
