/** The side panel of the task chosen on the graph: its definition and its instance in the selected run. */
import { Markdown } from "../../../components/Markdown.tsx";
import { StateBadge } from "../../../components/StateBadge.tsx";
import { formatDate, formatDuration } from "../../../components/time.ts";
import type { TaskInstance } from "../../../live.ts";
import { hrefs, Link } from "../../../router.tsx";
import type { components } from "../../../../../updraft/src/api/generated/airflow-v2.ts";

export type Task = components["schemas"]["TaskResponse"];

export function TaskPanel({
  dagId,
  task,
  upstream,
  runId,
  ti,
  onSelect,
  onClose,
}: {
  dagId: string;
  task: Task;
  upstream: string[];
  runId: string | null;
  ti: TaskInstance | undefined;
  onSelect: (taskId: string) => void;
  onClose: () => void;
}) {
  const taskId = task.task_id!;
  return (
    <aside className="graph-panel" aria-label="Task details">
      <div className="graph-panel-head">
        <h2>{taskId}</h2>
        <button onClick={onClose} aria-label="Close task details">
          ×
        </button>
      </div>
      <dl>
        <dt>Operator</dt>
        <dd>{task.operator_name}</dd>
        <dt>Trigger rule</dt>
        <dd>{task.trigger_rule}</dd>
        <dt>Retries</dt>
        <dd>{task.retries ?? 0}</dd>
        <dt>Pool</dt>
        <dd>
          {task.pool} ({task.pool_slots ?? 1} slot{task.pool_slots === 1 ? "" : "s"})
        </dd>
        <dt>Owner</dt>
        <dd>{task.owner ?? "–"}</dd>
      </dl>
      {runId && (
        <section aria-label="Task instance">
          <h3>In run {runId}</h3>
          {ti ? (
            <dl>
              <dt>State</dt>
              <dd>
                <StateBadge state={ti.state} />
              </dd>
              <dt>Try</dt>
              <dd>{ti.try_number}</dd>
              <dt>Started</dt>
              <dd>{formatDate(ti.start_date)}</dd>
              <dt>Duration</dt>
              <dd>{formatDuration(ti.duration)}</dd>
            </dl>
          ) : (
            <p className="muted">No task instance in this run yet.</p>
          )}
          <Link href={hrefs.taskInstance(dagId, runId, taskId)}>Open task instance</Link>
        </section>
      )}
      <Neighbours label="Upstream" ids={upstream} onSelect={onSelect} />
      <Neighbours label="Downstream" ids={task.downstream_task_ids ?? []} onSelect={onSelect} />
      {task.doc_md && (
        <section aria-label="Task docs">
          <h3>Docs</h3>
          <Markdown text={task.doc_md} label={`Documentation of ${taskId}`} />
        </section>
      )}
    </aside>
  );
}

const SHOWN = 50;

function Neighbours({
  label,
  ids,
  onSelect,
}: {
  label: string;
  ids: string[];
  onSelect: (id: string) => void;
}) {
  return (
    <section aria-label={label}>
      <h3>
        {label} ({ids.length})
      </h3>
      {ids.length === 0 && <p className="muted">none</p>}
      <ul className="graph-neighbours">
        {ids.slice(0, SHOWN).map((id) => (
          <li key={id}>
            <button className="link" onClick={() => onSelect(id)}>
              {id}
            </button>
          </li>
        ))}
        {ids.length > SHOWN && <li className="muted">and {ids.length - SHOWN} more</li>}
      </ul>
    </section>
  );
}
