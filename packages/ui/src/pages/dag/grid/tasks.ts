/**
 * The grid's rows: the DAG's task ids in the DAG's order (upstream before downstream, ties by the
 * API's order), read once from `GET /dags/{dag_id}/tasks`.
 */
import { useQuery } from "@tanstack/react-query";
import { api, must } from "../../../api.ts";

interface TaskLink {
  task_id: string | null;
  downstream_task_ids: string[] | null;
}

/** Kahn's topological order, taking ready tasks in the given order so the result is stable. */
export function topologicalOrder(tasks: TaskLink[]): string[] {
  const ids = tasks.map((t) => t.task_id).filter((id): id is string => !!id);
  const known = new Set(ids);
  const indegree = new Map(ids.map((id) => [id, 0]));
  for (const t of tasks)
    for (const d of t.downstream_task_ids ?? [])
      if (known.has(d)) indegree.set(d, (indegree.get(d) ?? 0) + 1);
  const downstream = new Map(tasks.map((t) => [t.task_id, t.downstream_task_ids ?? []]));
  const position = new Map(ids.map((id, i) => [id, i]));
  // Ready tasks as a queue kept in API order; each pass takes the earliest ready task.
  let ready = ids.filter((id) => indegree.get(id) === 0);
  const out: string[] = [];
  while (ready.length > 0) {
    const next: string[] = [];
    for (const id of ready) {
      out.push(id);
      for (const d of downstream.get(id) ?? []) {
        const left = (indegree.get(d) ?? 0) - 1;
        indegree.set(d, left);
        if (left === 0) next.push(d);
      }
    }
    ready = next.sort((a, b) => position.get(a)! - position.get(b)!);
  }
  // A cycle cannot be parsed, but never lose a task: anything left goes last.
  if (out.length < ids.length) {
    const seen = new Set(out);
    out.push(...ids.filter((id) => !seen.has(id)));
  }
  return out;
}

export function useGridTasks(dagId: string) {
  return useQuery({
    queryKey: ["gridTasks", dagId],
    queryFn: async () =>
      topologicalOrder(
        must(await api.GET("/api/v2/dags/{dag_id}/tasks", { params: { path: { dag_id: dagId } } })).tasks,
      ),
    staleTime: 60_000,
  });
}
