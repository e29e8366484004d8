/**
 * One task instance's page: breadcrumbs (DAG, run, task) over its details (TaskInstanceView).
 * A mapped task's instance is named by `?map_index=N`; without it, a mapped task lists its instances.
 */
import { StateBadge } from "../../components/StateBadge.tsx";
import { hrefs, Link, navigate } from "../../router.tsx";
import { useUrlState } from "../../url.ts";
import type { TiKey } from "./Sections.tsx";
import { TaskInstanceView, useTaskInstance } from "./TaskInstanceView.tsx";
import { useDagZoneOf } from "../dag/Details.tsx";

export function TaskInstancePage({ dagId, runId, taskId }: TiKey) {
  const [params] = useUrlState();
  const mapIndex = params.get("map_index") === null ? -1 : Number(params.get("map_index"));
  const tiKey = { dagId, runId, taskId, mapIndex };
  const data = useTaskInstance(tiKey).data;
  useDagZoneOf(dagId);
  return (
    <main className="ti-page">
      <nav className="toolbar ti-crumbs" aria-label="Breadcrumbs">
        <Link href={hrefs.dags()}>DAGs</Link>
        <span aria-hidden>/</span>
        <Link href={hrefs.dag(dagId)}>{dagId}</Link>
        <span aria-hidden>/</span>
        <Link href={hrefs.dag(dagId, { run: runId })}>{runId}</Link>
        <span aria-hidden>/</span>
        <h1>
          {mapIndex >= 0 ? (
            <>
              <Link href={hrefs.taskInstance(dagId, runId, taskId)}>{taskId}</Link>{" "}
              <span className="ti-map-index">[{data?.rendered_map_index ?? mapIndex}]</span>
            </>
          ) : (
            taskId
          )}
        </h1>
        {data && <StateBadge state={data.state} />}
      </nav>
      <TaskInstanceView tiKey={tiKey} onDeleted={() => navigate(hrefs.dag(dagId, { run: runId }))} />
    </main>
  );
}
