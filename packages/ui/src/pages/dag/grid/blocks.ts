/**
 * The grid's data, fetched by blocks of the visible window only. Columns are runs counted from the
 * oldest (`order_by=run_after`), so a new run adds a column at the right and every full block
 * keeps its key: scrolling back to a block already read costs nothing. Cells are read per block of
 * RUN_BLOCK runs x TASK_BLOCK tasks with the batch task-instance list; while a block's runs are
 * queued or running, only those runs' cells are read again, every second.
 */
import { useQueries, useQuery, useQueryClient, type QueryClient } from "@tanstack/react-query";
import { useEffect, useMemo, useRef } from "react";
import { api, must } from "../../../api.ts";
import { blockQuery } from "./block-query.ts";
import { idsKey } from "./tasks.ts";
import type { components } from "../../../../../updraft/src/api/generated/airflow-v2.ts";

export type Run = components["schemas"]["DAGRunResponse"];
export type TaskInstance = components["schemas"]["TaskInstanceResponse"];

export { RUN_BLOCK } from "./block-query.ts";
export const TASK_BLOCK = 25;
/** The batch endpoint's largest page. */
const PAGE = 1000;
export const LIVE_RUN = new Set(["queued", "running"]);
const isLive = (run: Run) => LIVE_RUN.has(run.state);

/** A cell's task instance; a mapped task's cell shows its most telling instance and the count. */
export interface Cell {
  ti: TaskInstance;
  count: number;
}

/** A block of cells: run id -> task id -> cell, and the runs that were live when it was read. */
export interface CellBlock {
  byRun: Map<string, Map<string, Cell>>;
  live: string[];
}

/** Which of several mapped instances a cell shows: the first state in this list that occurs. */
const TELLING = [
  "failed",
  "upstream_failed",
  "up_for_retry",
  "running",
  "restarting",
  "queued",
  "scheduled",
  "deferred",
  "up_for_reschedule",
  "skipped",
  "success",
  "removed",
];
const rank = (state: string | null) => {
  const i = TELLING.indexOf(state ?? "");
  return i < 0 ? TELLING.length : i;
};

export const blockRange = (first: number, last: number, size: number) => {
  const out: number[] = [];
  for (let b = Math.floor(first / size); b <= Math.floor(last / size); b++) out.push(b * size);
  return out;
};

/** How many runs the DAG has; polled so new runs appear, and every run block is re-read when it changes. */
export function useRunTotal(dagId: string) {
  const queries = useQueryClient();
  const total = useQuery({
    queryKey: ["runs", dagId, "gridTotal"],
    queryFn: async () =>
      must(
        await api.GET("/api/v2/dags/{dag_id}/dagRuns", {
          params: { path: { dag_id: dagId }, query: { limit: 0 } },
        }),
      ).total_entries,
    refetchInterval: 3000,
  });
  const seen = useRef<number | undefined>(undefined);
  useEffect(() => {
    if (total.data === undefined) return;
    if (seen.current !== undefined && seen.current !== total.data)
      void queries.invalidateQueries({ queryKey: ["runs", dagId, "gridBlock"] });
    seen.current = total.data;
  }, [total.data, dagId, queries]);
  return total;
}

/** The runs of the visible columns, by block start (offset from the oldest run of `total`). */
export function useRunBlocks(dagId: string, starts: number[], total: number) {
  const combined = useQueries({
    queries: starts.map((start) => ({
      queryKey: ["runs", dagId, "gridBlock", start],
      queryFn: async () => {
        const { query, reversed } = blockQuery(start, total);
        const runs = must(
          await api.GET("/api/v2/dags/{dag_id}/dagRuns", { params: { path: { dag_id: dagId }, query } }),
        ).dag_runs;
        return reversed ? runs.reverse() : runs;
      },
      staleTime: Infinity,
      // Live runs change every second; finished ones only when cleared (seen within a few seconds).
      refetchInterval: (q: { state: { data?: Run[] } }) => (q.state.data?.some(isLive) ? 1000 : 5000),
    })),
    combine: dataOf<Run[]>,
  });
  const key = starts.join(",");
  const data = useStable(combined.data);
  const byStart = useMemo(() => pair(starts, data), [key, data]);
  const error = combined.error;
  return { byStart, error };
}

/** The blocks' data and the first failure, so the grid can say what could not be read. */
interface Combined<T> {
  data: (T | undefined)[];
  error: string | null;
}

function dataOf<T>(results: { data?: T; error: Error | null }[]): Combined<T> {
  return {
    data: results.map((r) => r.data),
    error: results.find((r) => r.error)?.error?.message ?? null,
  };
}

/** The same array as last time while its elements are the same, so maps built from it stay put. */
function useStable<T>(list: (T | undefined)[]): (T | undefined)[] {
  const last = useRef(list);
  if (last.current.length !== list.length || list.some((v, i) => v !== last.current[i])) last.current = list;
  return last.current;
}

function pair<K, V>(keys: K[], values: (V | undefined)[]): Map<K, V> {
  const out = new Map<K, V>();
  keys.forEach((k, i) => {
    const v = values[i];
    if (v !== undefined) out.set(k, v);
  });
  return out;
}

async function readTis(dagId: string, runIds: string[], taskIds: string[]): Promise<TaskInstance[]> {
  const all: TaskInstance[] = [];
  // Mapped tasks have several instances a cell: pages go on until every instance is read.
  for (let offset = 0; ;) {
    const page = must(
      await api.POST("/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/list", {
        params: { path: { dag_id: "~", dag_run_id: "~" } },
        body: {
          dag_ids: [dagId],
          dag_run_ids: runIds,
          task_ids: taskIds,
          page_limit: Math.min(PAGE, runIds.length * taskIds.length),
          page_offset: offset,
        },
      }),
    );
    all.push(...page.task_instances);
    offset += page.task_instances.length;
    if (page.task_instances.length === 0 || offset >= page.total_entries) return all;
  }
}

function group(tis: TaskInstance[], runIds: string[]): Map<string, Map<string, Cell>> {
  const byRun = new Map(runIds.map((id) => [id, new Map<string, Cell>()]));
  for (const ti of tis) {
    const cells = byRun.get(ti.dag_run_id);
    if (!cells) continue;
    const had = cells.get(ti.task_id);
    if (!had) cells.set(ti.task_id, { ti, count: 1 });
    else
      cells.set(ti.task_id, {
        ti: rank(ti.state) < rank(had.ti.state) ? ti : had.ti,
        count: had.count + 1,
      });
  }
  return byRun;
}

/**
 * Reads a block: all of it the first time, then only the runs it lacks (a column that changed) and
 * the runs live now or at the last read.
 */
async function readBlock(
  queries: QueryClient,
  key: unknown[],
  dagId: string,
  runs: Run[],
  taskIds: string[],
): Promise<CellBlock> {
  const prev = queries.getQueryData<CellBlock>(key);
  const live = runs.filter(isLive).map((r) => r.dag_run_id);
  const wanted = new Set([...live, ...(prev?.live ?? [])]);
  const runIds = runs.map((r) => r.dag_run_id).filter((id) => wanted.has(id) || !prev?.byRun.has(id));
  if (runIds.length === 0) return { byRun: prev!.byRun, live };
  const fresh = group(await readTis(dagId, runIds, taskIds), runIds);
  const byRun = new Map(prev?.byRun);
  for (const [runId, cells] of fresh) byRun.set(runId, cells);
  return { byRun, live };
}

export interface BlockRequest {
  runStart: number;
  taskStart: number;
  runs: Run[];
  taskIds: string[];
}

/** The cells of the visible blocks, by `${runStart}:${taskStart}`. */
export function useCellBlocks(dagId: string, requests: BlockRequest[]) {
  const queries = useQueryClient();
  const combined = useQueries({
    queries: requests.map(({ runStart, taskStart, runs, taskIds }) => {
      // The run ids are in the key, so a column that now holds another run is read again; until
      // then the block shows what the same place held before (see `seed`). The rows' tasks are in the
      // place: opening a task group moves other tasks into the block's rows.
      const place = ["gridCells", dagId, runStart, taskStart, idsKey(taskIds)];
      const key = [...place, runs.map((r) => r.dag_run_id).join("\n")];
      const live = runs.some(isLive);
      const complete = (block: CellBlock | undefined) =>
        !!block && runs.every((r) => block.byRun.has(r.dag_run_id));
      return {
        queryKey: key,
        queryFn: () => readBlock(queries, key, dagId, runs, taskIds),
        initialData: () => queries.getQueriesData<CellBlock>({ queryKey: place }).find(([, d]) => d)?.[1],
        initialDataUpdatedAt: 0,
        staleTime: (q: { state: { data?: CellBlock } }) => (complete(q.state.data) ? Infinity : 0),
        refetchInterval: (q: { state: { data?: CellBlock } }) =>
          live || (q.state.data?.live.length ?? 0) > 0 ? 1000 : (false as const),
      };
    }),
    combine: dataOf<CellBlock>,
  });
  const key = requests.map((r) => `${r.runStart}:${r.taskStart}`);
  const joined = key.join(",");
  const data = useStable(combined.data);
  const byBlock = useMemo(() => pair(key, data), [joined, data]);
  const error = combined.error;
  return { byBlock, error };
}

/** The column of a run (how many runs came before it), to bring a run named in the URL into view. */
export function useRunColumn(dagId: string, runId: string | null) {
  return useQuery({
    enabled: !!runId,
    queryKey: ["gridColumn", dagId, runId],
    queryFn: async () => {
      const run = must(
        await api.GET("/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}", {
          params: { path: { dag_id: dagId, dag_run_id: runId! } },
        }),
      );
      return must(
        await api.GET("/api/v2/dags/{dag_id}/dagRuns", {
          params: { path: { dag_id: dagId }, query: { limit: 0, run_after_lt: run.run_after } },
        }),
      ).total_entries;
    },
    staleTime: Infinity,
  });
}
