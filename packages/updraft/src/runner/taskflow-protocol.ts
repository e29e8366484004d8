/** Messages between a TaskFlow worker process and its pool (JSON over IPC). */
import type { OutletEventsWire } from "../sdk/assets.ts";
import type { TriggerSpec } from "../sdk/triggers.ts";
import type { TaskCallbackEvent } from "../core/serialized.ts";

/**
 * Run the task's callbacks for one event instead of the task (the try's outcome is recorded by then):
 * the worker loads the DAG file, finds the task's callbacks and runs them one after the other.
 */
export interface TaskCallbackCall {
  event: TaskCallbackEvent;
  /** The failure's error (onFailure, onRetry). */
  exception: { message: string; stack: string | null } | null;
  /** The email alert to send after the callbacks (emailOnFailure, emailOnRetry). */
  email: { event: "failure" | "retry"; to: string[] } | null;
  /** Each callback's time limit (`[core] callback_timeout`). */
  timeoutMs: number;
}

export interface TaskFlowRequest {
  id: number;
  /** Absolute path of the DAG file. */
  path: string;
  /** Busts the module cache when the file changed since this worker loaded it. */
  version: string;
  dagId: string;
  taskId: string;
  /** Arguments with upstream XCom values already in place. */
  args: unknown[];
  context: Record<string, unknown>;
  /** After a defer(): call the task's `resume` with this event instead of its function. */
  resume?: { event: unknown };
  /** Run these callbacks instead of the task; the reply's value is their outcomes. */
  callbacks?: TaskCallbackCall;
  /** Run the task's onExecute callbacks, each within this many ms, right before its function. */
  onExecuteMs?: number;
}

/**
 * Drop a request that has not started yet (the worker answers `dropped`); a request that has started
 * or ended is left alone (the pool then knows from the replies which one it was).
 */
export interface TaskFlowCancel {
  kind: "cancel";
  id: number;
}

/** The answer to a running task's lookup (getVariable, getConnection) or write (setVariable). */
export interface TaskFlowLookupReply {
  kind: "lookup-reply";
  ask: number;
  value?: unknown;
  error?: string;
}

export type TaskFlowMessage = TaskFlowRequest | TaskFlowCancel | TaskFlowLookupReply;

/** What a running task may look up through its runner: it never reads the database itself. */
/**
 * What a running task may ask its runner: a variable, a connection, or (externalTaskSensor) the
 * states of another DAG's runs and task instances, the key a JSON ExternalStatesQuery.
 */
export type LookupKind = "variable" | "connection" | "external_states" | "email_settings";

/** A variable a running task writes (setVariable), the value already a string. */
export interface VariableWrite {
  key: string;
  value: string;
  /** Kept as stored when not given. */
  description?: string | null;
}

/** What the task learns of its write: the environment variable that wins over it on read, if any. */
export interface VariableWritten {
  shadowedBy: string | null;
}

export type TaskFlowReply =
  /** Node, the SDK and the type stripper are loaded: the worker is warm (a spare may be bound). */
  | { kind: "ready" }
  /** "runner": what the worker says about the request (a callback's start and outcome). */
  | { id: number; kind: "log"; stream: "stdout" | "stderr" | "runner"; text: string }
  | { id: number; kind: "dropped" }
  | { id: number; kind: "lookup"; ask: number; what: LookupKind; key: string }
  | { id: number; kind: "set-variable"; ask: number; variable: VariableWrite }
  | { id: number; kind: "result"; outcome: "success"; value: unknown; outletEvents?: OutletEventsWire }
  | { id: number; kind: "result"; outcome: "deferred"; trigger: TriggerSpec; timeout: number | null }
  | {
      id: number;
      kind: "result";
      outcome: "skipped" | "failed" | "fail_now";
      message: string;
      stack: string | null;
    };
