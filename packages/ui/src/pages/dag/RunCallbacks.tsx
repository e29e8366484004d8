/**
 * Under the runs table, for the selected run (`?run=`): its deadlines (time, met or missed) and its
 * DAG callbacks with their outcome (a failed one with its error). Callbacks run in a triggerer.
 */
import { StateBadge } from "../../components/StateBadge.tsx";
import { formatDate, formatDuration } from "../../components/time.ts";
import { useRunCallbacks, type RunCallback, type RunDeadline } from "./callbacks-api.ts";

/** The state colours a deadline's status borrows. */
const DEADLINE_CLASS: Record<RunDeadline["status"], string> = {
  missed: "failed",
  met: "success",
  pending: "queued",
};

const EVENTS: Record<RunCallback["event"], string> = {
  dag_success: "onSuccess",
  dag_failure: "onFailure",
  deadline_missed: "deadline missed",
};

export function RunCallbacksPanel({ dagId, runId }: { dagId: string; runId: string }) {
  const query = useRunCallbacks(dagId, runId);
  if (query.isError)
    return (
      <p role="alert" className="error">
        The callbacks of {runId} could not be read: {query.error.message}
      </p>
    );
  if (!query.data) return null;
  const { callbacks, deadlines } = query.data;
  if (callbacks.length === 0 && deadlines.length === 0) return null;
  return (
    <section aria-label={`Callbacks and deadlines of ${runId}`} className="run-callbacks">
      <h3>Deadlines and callbacks of {runId}</h3>
      {deadlines.length > 0 && (
        <ul className="run-deadlines">
          {deadlines.map((d) => (
            <DeadlineItem key={d.index} deadline={d} />
          ))}
        </ul>
      )}
      {callbacks.length > 0 && (
        <ul className="run-callback-list">
          {callbacks.map((c) => (
            <CallbackItem key={c.id} callback={c} />
          ))}
        </ul>
      )}
    </section>
  );
}

function DeadlineItem({ deadline: d }: { deadline: RunDeadline }) {
  const after = d.reference && d.interval !== null && d.interval !== undefined;
  return (
    <li>
      Deadline {formatDate(d.deadline_time)}
      {after && (
        <span className="muted">
          {" "}
          ({formatDuration(d.interval!)} after {d.reference!.replace("_", " ")})
        </span>
      )}
      : <span className={`state ${DEADLINE_CLASS[d.status]}`}>{d.status}</span>
    </li>
  );
}

function CallbackItem({ callback: c }: { callback: RunCallback }) {
  return (
    <li>
      {EVENTS[c.event]}
      {c.reason && <span className="muted"> ({c.reason})</span>}: <StateBadge state={c.state} />
      {c.attempts > 1 && <span className="muted"> after {c.attempts} attempts</span>}
      {c.error && <pre className="run-callback-error">{c.error}</pre>}
    </li>
  );
}
