/**
 * The DAG's grid: runs as columns (newest at the right) by tasks as rows (in the DAG's order), each
 * cell a task instance coloured by its state. A task group is a row of its own, its cells showing
 * its tasks' summary state, and opens (its tasks below it, indented) with its row's button. Both directions are virtualised and only the blocks
 * in view are read (grid/blocks.ts), so 500 runs x 5,000 tasks scroll like 5 x 5. Arrow keys move
 * between cells; a click or Enter on a cell opens its task instance in the details pane beside the
 * grid (`?run=&task=`), a run's bar its run (`?run=`). A task search and a state filter narrow the
 * rows, and "Jump to failed task" selects the first failed instance (grid/filters.ts).
 */
import { useVirtualizer, type VirtualItem, type Virtualizer } from "@tanstack/react-virtual";
import {
  useEffect,
  useLayoutEffect,
  useMemo,
  useRef,
  useState,
  type FocusEvent,
  type KeyboardEvent,
  type MouseEvent,
  type RefObject,
} from "react";
import { StateBadge } from "../../components/StateBadge.tsx";
import { formatDate, formatDuration } from "../../components/time.ts";
import { useUrlState } from "../../url.ts";
import {
  blockRange,
  RUN_BLOCK,
  TASK_BLOCK,
  useCellBlocks,
  useRunBlocks,
  useRunColumn,
  useRunTotal,
  type Cell,
  type Run,
} from "./grid/blocks.ts";
import {
  COL_W,
  columnLeft,
  GridRow,
  LABEL_W,
  RunHeaderRow,
  runSeconds,
  type Position,
} from "./grid/GridRow.tsx";
import { nextPosition } from "./grid/keys.ts";
import { useGridRows } from "./grid/tasks.ts";
import { useOpenGroups } from "./open-groups.ts";
import { groupState, type GridRowItem } from "./groups.ts";
import { GridTooltip, type Describe } from "./grid/Tooltip.tsx";
import { GridDetails, useFailedTasks, useGridSelection } from "./grid/GridDetails.tsx";
import { FILTER_STATES, filterRows, firstFailed, useTasksInState } from "./grid/filters.ts";
import { runVersion } from "./versions.ts";
import "./grid.css";

const HEAD_H = 64;
const ROW_H = 22;

export function GridTab({ dagId }: { dagId: string }) {
  const { open: expanded, update: setExpanded, toggle } = useOpenGroups(dagId);
  const [params, update] = useUrlState();
  const search = params.get("task_search") ?? "";
  const state = params.get("task_state");
  const tasks = useGridRows(dagId, expanded);
  const total = useRunTotal(dagId);
  const inState = useTasksInState(dagId, state);
  const selection = useGridSelection();
  const rows = useMemo(
    () => tasks.rows && filterRows(tasks.rows, search, state ? (inState.data ?? new Set()) : null),
    [tasks.rows, search, state, inState.data],
  );
  const failed = tasks.error ?? total.error;
  if (failed)
    return (
      <p role="alert" className="error">
        The grid of {dagId} could not be read: {failed.message}
      </p>
    );
  if (!rows || total.data === undefined) return <p className="muted">Loading the grid…</p>;
  return (
    <>
      <div className="toolbar grid-toolbar">
        <input
          type="search"
          aria-label="Search tasks"
          placeholder="Search tasks"
          defaultValue={search}
          onChange={(e) => update({ task_search: e.target.value }, { replace: true })}
        />
        <select
          aria-label="Filter by state"
          value={state ?? ""}
          onChange={(e) => update({ task_state: e.target.value }, { replace: true })}
        >
          <option value="">All states</option>
          {FILTER_STATES.map((s) => (
            <option key={s} value={s}>
              {s.replace(/_/g, " ")}
            </option>
          ))}
        </select>
        <JumpToFailed dagId={dagId} onFound={(f) => selection.select(f.runId, f.taskId, f.mapIndex)} />
        {tasks.groups && tasks.groups.size > 0 && (
          <>
            <button type="button" onClick={() => setExpanded(() => new Set(tasks.groups!.keys()))}>
              Expand all groups
            </button>
            <button type="button" onClick={() => setExpanded(() => new Set())}>
              Collapse all groups
            </button>
          </>
        )}
        {rows.length < tasks.rows!.length && (
          <span className="muted" role="status">
            {rows.length} of {tasks.rows!.length} rows
          </span>
        )}
      </div>
      <div className={selection.runId ? "grid-layout with-pane" : "grid-layout"}>
        <GridView dagId={dagId} rows={rows} runCount={total.data} onToggle={toggle} />
        <GridDetails dagId={dagId} />
      </div>
    </>
  );
}

/** Selects the first failed task instance of the selected run, or of the newest run with one. */
function JumpToFailed({
  dagId,
  onFound,
}: {
  dagId: string;
  onFound: (found: { runId: string; taskId: string; mapIndex: number }) => void;
}) {
  const { runId } = useGridSelection();
  const [message, setMessage] = useState<string | null>(null);
  const jump = async () => {
    setMessage(null);
    try {
      const found = (runId && (await firstFailed(dagId, runId))) || (await firstFailed(dagId, null));
      if (found) onFound(found);
      else setMessage("No failed task instance.");
    } catch (error) {
      setMessage((error as Error).message);
    }
  };
  return (
    <>
      <button type="button" onClick={() => void jump()}>
        Jump to failed task
      </button>
      {message && (
        <span className="muted" role="status">
          {message}
        </span>
      )}
    </>
  );
}

/** What a group's cell shows for a run: its tasks' summary state and how many are in each state. */
export interface GroupCell {
  state: string | null;
  counts: Map<string, number>;
}

function groupCell(byTask: Map<string, Cell>, tasks: string[]): GroupCell {
  const states = tasks.map((id) => byTask.get(id)?.ti.state ?? null);
  const counts = new Map<string, number>();
  for (const state of states) counts.set(state ?? "no status", (counts.get(state ?? "no status") ?? 0) + 1);
  return { state: groupState(states), counts };
}

/** A block's task ids: every task a row of it shows (a group's, all of them), once. */
const blockTasks = (rows: GridRowItem[]) => [...new Set(rows.flatMap((r) => r.tasks))];

/** The blocks in view (block starts kept as the same array while they do not change). */
function useStarts(items: VirtualItem[], size: number) {
  const starts = items.length ? blockRange(items[0]!.index, items.at(-1)!.index, size) : [];
  const key = starts.join(",");
  return useMemo(() => starts, [key]);
}

function useGridData(
  dagId: string,
  items: GridRowItem[],
  rows: VirtualItem[],
  cols: VirtualItem[],
  runCount: number,
) {
  const runStarts = useStarts(cols, RUN_BLOCK);
  const taskStarts = useStarts(rows, TASK_BLOCK);
  const runs = useRunBlocks(dagId, runStarts, runCount);
  const requests = runStarts.flatMap((runStart) => {
    const blockRuns = runs.byStart.get(runStart);
    if (!blockRuns) return [];
    return taskStarts.map((taskStart) => ({
      runStart,
      taskStart,
      runs: blockRuns,
      taskIds: blockTasks(items.slice(taskStart, taskStart + TASK_BLOCK)),
    }));
  });
  const cells = useCellBlocks(dagId, requests);
  /** What is known of a run (by column) and a cell; undefined: not read yet, null: no instance. */
  const lookup = useMemo(() => {
    const run = (col: number) => runs.byStart.get(col - (col % RUN_BLOCK))?.[col % RUN_BLOCK];
    const cell = (row: number, col: number): Cell | GroupCell | null | undefined => {
      const r = run(col);
      const block = cells.byBlock.get(`${col - (col % RUN_BLOCK)}:${row - (row % TASK_BLOCK)}`);
      const byTask = r && block?.byRun.get(r.dag_run_id);
      const item = items[row]!;
      if (!byTask) return undefined;
      return item.group ? groupCell(byTask, item.tasks) : (byTask.get(item.id) ?? null);
    };
    return { run, cell };
  }, [runs.byStart, cells.byBlock, items]);
  return { runStarts, runs: runs.byStart, cells: cells.byBlock, lookup, error: runs.error ?? cells.error };
}

/** Starts at the newest run, and keeps following new runs while the view is at the right edge. */
function useFollowNewest(
  cols: Virtualizer<HTMLDivElement, Element>,
  count: number,
  scroller: RefObject<HTMLDivElement | null>,
) {
  const last = useRef(0);
  useLayoutEffect(() => {
    const el = scroller.current;
    const wasAtEnd = !el || el.scrollLeft + el.clientWidth >= el.scrollWidth - COL_W * 2;
    if (count > 0 && (last.current === 0 || (count > last.current && wasAtEnd)))
      cols.scrollToIndex(count - 1, { align: "end" });
    last.current = count;
  }, [count, cols, scroller]);
}

/** Brings the run named in the URL into view (once per run named). */
function useShowSelected(dagId: string, runId: string | null, cols: Virtualizer<HTMLDivElement, Element>) {
  const column = useRunColumn(dagId, runId);
  useEffect(() => {
    if (column.data !== undefined) cols.scrollToIndex(column.data, { align: "auto" });
  }, [column.data, cols]);
}

function GroupCard({ item, run, cell }: { item: GridRowItem; run: Run; cell: GroupCell }) {
  return (
    <dl>
      <dt>Task group</dt>
      <dd>{item.id}</dd>
      <dt>Run</dt>
      <dd>{run.dag_run_id}</dd>
      <dt>State</dt>
      <dd>
        <StateBadge state={cell.state} />
      </dd>
      <dt>Tasks</dt>
      <dd>{[...cell.counts].map(([state, n]) => `${n} ${state.replace(/_/g, " ")}`).join(", ")}</dd>
    </dl>
  );
}

function CellCard({ taskId, run, cell }: { taskId: string; run: Run; cell: Cell | null }) {
  const ti = cell?.ti;
  const seconds =
    ti?.duration ?? (ti?.start_date && !ti.end_date ? (Date.now() - Date.parse(ti.start_date)) / 1000 : null);
  return (
    <dl>
      <dt>Task</dt>
      <dd>
        {taskId}
        {cell && cell.count > 1 ? ` (${cell.count} mapped)` : ""}
      </dd>
      <dt>Run</dt>
      <dd>{run.dag_run_id}</dd>
      <dt>State</dt>
      <dd>
        <StateBadge state={ti?.state} />
      </dd>
      <dt>Try</dt>
      <dd>{ti && ti.try_number > 0 ? ti.try_number : "–"}</dd>
      <dt>Duration</dt>
      <dd>{formatDuration(seconds)}</dd>
    </dl>
  );
}

function RunCard({ dagId, run }: { dagId: string; run: Run }) {
  const failed = useFailedTasks(dagId, run.dag_run_id, run.state === "failed");
  const names = failed.data?.task_instances.map((ti) => ti.task_id) ?? [];
  return (
    <dl>
      <dt>Run</dt>
      <dd>{run.dag_run_id}</dd>
      <dt>State</dt>
      <dd>
        <StateBadge state={run.state} />
      </dd>
      <dt>Type</dt>
      <dd>{run.run_type}</dd>
      <dt>Run after</dt>
      <dd>{formatDate(run.run_after)}</dd>
      <dt>Duration</dt>
      <dd>{run.start_date ? formatDuration(runSeconds(run)) : "–"}</dd>
      <dt>DAG version</dt>
      <dd>{runVersion(run) ?? "–"}</dd>
      {run.state === "failed" && (
        <>
          <dt>Failed tasks</dt>
          <dd>
            {failed.data
              ? names.slice(0, 5).join(", ") +
                (failed.data.total_entries > 5 ? `, and ${failed.data.total_entries - 5} more` : "")
              : "…"}
          </dd>
        </>
      )}
    </dl>
  );
}

/** Marks the selected task instance's cell (cells are drawn as markup, see GridRow's segmentHtml). */
function useMarkSelectedCell(
  scroller: RefObject<HTMLDivElement | null>,
  row: number,
  col: number | undefined,
) {
  useEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const cell = row >= 0 && col !== undefined ? el.querySelector(selectorOf({ row, col })) : null;
    for (const old of el.querySelectorAll("[aria-selected=true]"))
      if (old !== cell) old.removeAttribute("aria-selected");
    cell?.setAttribute("aria-selected", "true");
  });
}

/** A cell's place: run headers carry data-pos, cells their aria-colindex inside a row's aria-rowindex. */
const positionOf = (element: Element | null): Position | null => {
  const target = element?.closest("[data-pos], [role=gridcell]");
  if (!target) return null;
  const pos = target.getAttribute("data-pos");
  if (pos) {
    const [row, col] = pos.split(":").map(Number);
    return { row: row!, col: col! };
  }
  const rowIndex = target.closest("[role=row]")?.getAttribute("aria-rowindex");
  const colIndex = target.getAttribute("aria-colindex");
  return rowIndex && colIndex ? { row: Number(rowIndex) - 2, col: Number(colIndex) - 2 } : null;
};

const selectorOf = ({ row, col }: Position) =>
  row < 0
    ? `[data-pos="-1:${col}"]`
    : `[role=row][aria-rowindex="${row + 2}"] [role=gridcell][aria-colindex="${col + 2}"]`;

function GridView({
  dagId,
  rows: items,
  runCount,
  onToggle,
}: {
  dagId: string;
  rows: GridRowItem[];
  runCount: number;
  onToggle: (groupId: string) => void;
}) {
  const { runId: selected, taskId: selectedTask, select } = useGridSelection();
  const scroller = useRef<HTMLDivElement>(null);
  const rowsV = useVirtualizer({
    count: items.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_H,
    paddingStart: HEAD_H,
    scrollPaddingStart: HEAD_H,
    overscan: 4,
    useFlushSync: false,
  });
  const colsV = useVirtualizer({
    horizontal: true,
    count: runCount,
    getScrollElement: () => scroller.current,
    estimateSize: () => COL_W,
    paddingStart: LABEL_W,
    scrollPaddingStart: LABEL_W,
    overscan: 3,
    useFlushSync: false,
  });
  const rows = rowsV.getVirtualItems();
  const cols = colsV.getVirtualItems();
  const { runStarts, runs, cells, lookup, error } = useGridData(dagId, items, rows, cols, runCount);
  useFollowNewest(colsV, runCount, scroller);
  useShowSelected(dagId, selected, colsV);
  const selectedRow = selectedTask === null ? -1 : items.findIndex((i) => !i.group && i.id === selectedTask);
  useEffect(() => {
    if (selectedRow >= 0) rowsV.scrollToIndex(selectedRow, { align: "auto" });
  }, [selectedRow, rowsV]);

  const [active, setActive] = useState<Position>({ row: 0, col: Math.max(0, runCount - 1) });
  const pendingFocus = useRef(false);
  const move = (to: Position) => {
    setActive(to);
    pendingFocus.current = true;
    if (to.row >= 0) rowsV.scrollToIndex(to.row, { align: "auto" });
    colsV.scrollToIndex(to.col, { align: "auto" });
  };
  // Focus follows the keys once the cell is drawn (it may need a scroll and a block read first).
  useEffect(() => {
    if (!pendingFocus.current) return;
    const el = scroller.current?.querySelector<HTMLElement>(selectorOf(active));
    if (el) {
      el.focus({ preventScroll: true });
      pendingFocus.current = false;
    }
  });
  const activeDrawn =
    cols.some((c) => c.index === active.col) &&
    (active.row < 0
      ? !!lookup.run(active.col)
      : rows.some((r) => r.index === active.row) && lookup.cell(active.row, active.col) !== undefined);

  const describe = useRef<Describe>(() => null);
  describe.current = (element) => {
    const pos = positionOf(element);
    const run = pos && lookup.run(pos.col);
    if (!pos || !run) return null;
    if (pos.row < 0) return <RunCard dagId={dagId} run={run} />;
    const cell = lookup.cell(pos.row, pos.col);
    const item = items[pos.row];
    if (cell === undefined || !item) return null;
    if (item.group) return <GroupCard item={item} run={run} cell={cell as GroupCell} />;
    return <CellCard taskId={item.id} run={run} cell={cell as Cell | null} />;
  };

  const onKeyDown = (event: KeyboardEvent) => {
    const at = positionOf(event.target as Element);
    if (!at) return;
    const page = Math.max(1, Math.floor((scroller.current?.clientHeight ?? 400) / ROW_H) - 3);
    const size = { rows: items.length, cols: runCount, page };
    const to = nextPosition(event.key, at, size, event.ctrlKey || event.metaKey);
    if (!to) return;
    event.preventDefault();
    move(to);
  };
  const onClick = (event: MouseEvent) => {
    const target = (event.target as Element).closest("[data-pos], [role=gridcell]");
    const at = positionOf(target);
    if (!at) return;
    setActive(at);
    const run = lookup.run(at.col);
    if (at.row < 0) {
      if (run) select(run.dag_run_id === selected && !selectedTask ? null : run.dag_run_id);
      return;
    }
    // A plain click opens the pane; with a modifier the link opens the page (a new tab, say).
    const plain = event.button === 0 && !event.metaKey && !event.ctrlKey && !event.shiftKey && !event.altKey;
    const item = items[at.row];
    if (plain && target instanceof HTMLAnchorElement && run && item) {
      event.preventDefault();
      select(run.dag_run_id, item.id);
    }
  };
  // With the active cell out of view, the grid itself takes the tab stop and hands focus to a cell.
  const onFocus = (event: FocusEvent) => {
    if (event.target !== event.currentTarget) return;
    const row = rowsV.range?.startIndex ?? 0;
    const col = colsV.range?.endIndex ?? runCount - 1;
    if (runCount > 0) move({ row, col });
  };

  const selectedCol = cols.find((c) => lookup.run(c.index)?.dag_run_id === selected)?.index;
  useMarkSelectedCell(scroller, selectedRow, selectedCol);
  const width = colsV.getTotalSize() + COL_W;
  return (
    <div className="grid-tab">
      {error && (
        <p role="alert" className="error">
          Part of the grid could not be read: {error}
        </p>
      )}
      {runCount === 0 && <p className="muted">{dagId} has no runs yet: trigger one to fill the grid.</p>}
      <div
        ref={scroller}
        className="grid-scroll"
        data-testid="grid-scroll"
        role="grid"
        aria-label={`Grid of ${dagId}`}
        aria-rowcount={items.length + 1}
        aria-colcount={runCount + 1}
        tabIndex={activeDrawn ? -1 : 0}
        onKeyDown={onKeyDown}
        onClick={onClick}
        onFocus={onFocus}
      >
        <div className="grid-inner" style={{ width, height: rowsV.getTotalSize() }}>
          {selectedCol !== undefined && (
            <div className="grid-selected" style={{ left: columnLeft(selectedCol) - 2, width: COL_W }} />
          )}
          <RunHeaderRow
            runStarts={runStarts}
            runs={runs}
            selected={selected}
            activeCol={active.row < 0 ? active.col : -1}
          />
          {rows.map((r) => (
            <GridRow
              key={r.index}
              dagId={dagId}
              item={items[r.index]!}
              onToggle={onToggle}
              row={r.index}
              top={r.start}
              runStarts={runStarts}
              runs={runs}
              cells={cells}
              activeCol={active.row === r.index ? active.col : -1}
            />
          ))}
        </div>
      </div>
      <GridTooltip container={scroller} describe={describe} />
    </div>
  );
}
