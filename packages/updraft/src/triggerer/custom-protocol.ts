/** Messages between a triggerer and its custom-trigger process (custom-host.ts, custom-worker.ts). */
import type { JsonValue } from "../sdk/json.ts";

export type CustomTriggerMessage =
  | { kind: "add"; id: number; classpath: string; kwargs: Record<string, JsonValue> }
  | { kind: "cancel"; id: number };

export type CustomTriggerReply =
  | { kind: "ready" }
  | { kind: "event"; id: number; event: JsonValue }
  | { kind: "error"; id: number; error: string };
