/**
 * GET /ui/dags/{dag_id}/dagRuns/{dag_run_id}/callbacks (ui-spec.ts): a run's DAG callback requests
 * with their outcome and its deadlines, met or missed (storage/callbacks.ts), for the run page.
 */
import type { ApiContext } from "../app.ts";
import { notFound } from "../errors.ts";
import { callbackStore } from "../../storage/callbacks.ts";
import { dagRunStore } from "../../storage/dag-runs.ts";
import { dagStore } from "../../storage/dags.ts";
import { isRunFinished, type RunState } from "../../core/states.ts";
import type { CallbackRequestRow, DeadlineRow } from "../../storage/schema.ts";
import type { SerializedDeadline } from "../../core/serialized.ts";

type LooseRoute = (
  operationId: string,
  handler: (request: { params: { dag_id: string; dag_run_id: string } }) => Promise<unknown>,
) => void;

export function registerDagRunCallbackRoutes(ctx: ApiContext): void {
  const route = ctx.route as unknown as LooseRoute;
  route("get_dag_run_callbacks", async ({ params }) => {
    const run = await dagRunStore(ctx.database).get(params.dag_id, params.dag_run_id);
    if (!run)
      throw notFound(
        `The DagRun with dag_id: \`${params.dag_id}\` and run_id: \`${params.dag_run_id}\` was not found`,
      );
    const { callbacks, deadlines } = await callbackStore(ctx.database).forRun(run.dag_id, run.run_id);
    const dag = await dagStore(ctx.database).getSerialized(run.dag_id);
    const finished = isRunFinished(run.state as RunState);
    return {
      callbacks: callbacks.filter((c) => c.dag_run_id === run.id).map(callbackOut),
      deadlines: deadlines
        .filter((d) => d.dag_run_id === run.id)
        .map((d) => deadlineOut(d, dag?.deadlines?.[d.deadline_index], finished)),
    };
  });
}

function callbackOut(c: CallbackRequestRow) {
  const payload = safeJson(c.payload) as { reason?: string | null };
  return {
    id: c.id,
    event: c.event,
    state: c.state,
    reason: payload.reason ?? null,
    task_id: c.task_id,
    deadline_index: c.event === "deadline_missed" ? Number(c.event_key) : null,
    attempts: c.attempts,
    error: c.error,
    created_at: c.created_at,
    finished_at: c.finished_at,
  };
}

/** Pending until its time; then missed (the run was unfinished) or met; met too once the run ended. */
function deadlineOut(d: DeadlineRow, spec: SerializedDeadline | undefined, runFinished: boolean) {
  const status = d.missed === 1 ? "missed" : d.handled_at !== null || runFinished ? "met" : "pending";
  return {
    index: d.deadline_index,
    reference: spec?.reference ?? null,
    interval: spec?.interval ?? null,
    deadline_time: d.deadline_time,
    status,
    handled_at: d.handled_at,
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) ?? {};
  } catch {
    return {};
  }
}
