/**
 * The shapes callbacks and notifiers share (issue 20). Callbacks (task `onSuccess`, `onFailure`,
 * `onRetry`, `onExecute`, `onSkipped`; DAG `onSuccess`, `onFailure`; deadline `onMiss`) are functions
 * of the context or notifiers. Who runs them, and where, is in sdk/callbacks.ts and docs/callbacks.md.
 */
import type { TaskContext } from "./context.ts";

/**
 * What a callback receives: the task's context (for DAG and deadline callbacks, the run's: `ti` and
 * `task` are those of the task that decided the run, or absent), and for failures and retries the
 * error that caused them.
 */
export type CallbackContext = Partial<TaskContext> &
  Pick<TaskContext, "run_id" | "dag" | "dag_run" | "params"> & {
    /** The failure's error (onFailure, onRetry, a DAG's onFailure); null for other events. */
    exception?: { message: string; stack: string | null } | null;
    /** Why the DAG run ended or the deadline was missed, in words (DAG and deadline callbacks). */
    reason?: string | null;
  };

/**
 * Something that sends a message when called with the context (Airflow's BaseNotifier). Any object
 * with a `notify` method is one; the ready-made ones are in sdk/notifiers.ts.
 */
export interface Notifier {
  /** A short name shown in logs and the UI ("smtp", "slack_webhook", "webhook", or your own). */
  readonly notifier: string;
  notify(context: CallbackContext): void | Promise<void>;
}

export type CallbackFunction = (context: CallbackContext) => void | Promise<void>;
export type Callback = CallbackFunction | Notifier;
/** One callback or a list of them, as the callback options take them. */
export type CallbackInput = Callback | readonly Callback[];

export function isNotifier(value: unknown): value is Notifier {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { notify?: unknown }).notify === "function"
  );
}
