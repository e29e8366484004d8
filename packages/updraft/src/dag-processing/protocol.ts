/** Messages between the DAG processor and its parsing child processes (JSON over IPC). */
import type { SerializedDag } from "../core/serialized.ts";
import type { SerializeDefaults } from "../sdk/index.ts";

export interface ParseRequest {
  id: number;
  path: string;
  fileloc: string;
  contentHash: string;
  defaults: SerializeDefaults;
}

export interface ParseReply {
  id: number;
  dags: SerializedDag[];
  errors: { message: string; stacktrace: string | null }[];
  durationMs: number;
}
