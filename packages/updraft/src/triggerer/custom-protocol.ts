/**
 * Messages between a triggerer and its user-code processes (custom-host.ts, callback-host.ts, both
 * running custom-worker.ts): custom triggers, and DAG and deadline callbacks with the variable and
 * connection lookups they make.
 */
import type { LookupKind } from "../runner/taskflow-protocol.ts";
import type { CallbackOutcome } from "../sdk/callbacks.ts";
import type { JsonValue } from "../sdk/json.ts";

/** A DAG run event or a missed deadline: which of the DAG's callbacks run. */
export type CallbackEventName = "dag_success" | "dag_failure" | "deadline_missed";

export interface CallbackJob {
  id: number;
  /** The DAG file, absolute. */
  path: string;
  dagId: string;
  event: CallbackEventName;
  /** deadline_missed: the deadline's index in the DAG's list. */
  deadlineIndex: number | null;
  /** The plain context values (callback-context.ts). */
  context: Record<string, unknown>;
  /** Each callback's limit (`[core] callback_timeout`). */
  timeoutMs: number;
}

export type CustomTriggerMessage =
  | { kind: "add"; id: number; classpath: string; kwargs: Record<string, JsonValue> }
  | { kind: "cancel"; id: number }
  | ({ kind: "callback" } & CallbackJob)
  | { kind: "lookup-answer"; ask: number; value?: unknown; error?: string };

export type CustomTriggerReply =
  | { kind: "ready" }
  | { kind: "event"; id: number; event: JsonValue }
  | { kind: "error"; id: number; error: string }
  /** A line about one callback (it started, succeeded, failed): also the job's sign of progress. */
  | { kind: "callback-log"; id: number; line: string }
  | { kind: "callback-done"; id: number; outcomes: CallbackOutcome[] }
  | { kind: "callback-error"; id: number; error: string }
  | { kind: "lookup"; ask: number; what: LookupKind; key: string };
