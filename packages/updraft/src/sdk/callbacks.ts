/**
 * Callbacks as the SDK takes them and as their hosts run them (issue 20). Definition: each option
 * takes a function of the context, a notifier, or a list of them; `callbackList` checks and flattens
 * it. Running: `runCallbacks` calls them one after the other, each with a time limit, and never
 * throws: a callback's failure is reported, not propagated, so it cannot change the state of what it
 * reports on. Hosts (the TaskFlow worker for task callbacks, the triggerer's user-code child for DAG
 * and deadline callbacks) add the process-level limit a stuck synchronous callback needs.
 */
import { isNotifier, type Callback, type CallbackContext } from "./callback-types.ts";
import { definitionError, describe, type Where } from "./fail.ts";

/** Task events with callbacks, as option names. */
export const TASK_CALLBACK_OPTIONS = ["onExecute", "onSuccess", "onFailure", "onRetry", "onSkipped"] as const;
export type TaskCallbackOption = (typeof TASK_CALLBACK_OPTIONS)[number];
/** DAG run events with callbacks, as option names. */
export const DAG_CALLBACK_OPTIONS = ["onSuccess", "onFailure"] as const;
export type DagCallbackOption = (typeof DAG_CALLBACK_OPTIONS)[number];

/** The option's value as a list of callbacks ([] when unset); a definition error names what is wrong. */
export function callbackList(value: unknown, where: Where, option: string): Callback[] {
  if (value === undefined || value === null) return [];
  const items = Array.isArray(value) ? (value as unknown[]) : [value];
  return items.map((item, i) => {
    if (typeof item === "function" || isNotifier(item)) return item as Callback;
    const at = Array.isArray(value) ? `${option}[${i}]` : option;
    throw definitionError(
      where,
      `${at} must be a function of the context or a notifier (an object with a notify method, e.g. ` +
        `smtpNotifier({...})), got ${describe(item)}`,
    );
  });
}

/** A short name for logs and the UI: the notifier's kind, the function's name, or its position. */
export function callbackName(callback: Callback, index: number): string {
  if (isNotifier(callback)) return `${callback.notifier} notifier`;
  return callback.name ? `${callback.name}()` : `callback #${index + 1}`;
}

export interface CallbackOutcome {
  name: string;
  ok: boolean;
  /** The error's message (with its stack when there is one) when it failed or timed out. */
  error?: string;
  ms: number;
}

export interface RunCallbacksOptions {
  /** Each callback's time limit in milliseconds. */
  timeoutMs: number;
  /** Where a line about each callback goes (the try's log, the service's log). */
  log?: (line: string) => void;
}

/** Runs each callback in turn; never throws. */
export async function runCallbacks(
  callbacks: readonly Callback[],
  context: CallbackContext,
  options: RunCallbacksOptions,
): Promise<CallbackOutcome[]> {
  const outcomes: CallbackOutcome[] = [];
  for (const [i, callback] of callbacks.entries()) {
    const name = callbackName(callback, i);
    const started = Date.now();
    try {
      await withTimeout(
        Promise.resolve().then(() => (isNotifier(callback) ? callback.notify(context) : callback(context))),
        options.timeoutMs,
        name,
      );
      outcomes.push({ name, ok: true, ms: Date.now() - started });
      options.log?.(`callback ${name} succeeded`);
    } catch (error) {
      const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
      outcomes.push({ name, ok: false, error: text, ms: Date.now() - started });
      options.log?.(`callback ${name} failed (the task's state is unchanged): ${text}`);
    }
  }
  return outcomes;
}

function withTimeout<T>(work: Promise<T>, ms: number, name: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`callback ${name} did not finish within ${ms / 1000} s`)), ms);
  });
  return Promise.race([work, limit]).finally(() => clearTimeout(timer));
}
