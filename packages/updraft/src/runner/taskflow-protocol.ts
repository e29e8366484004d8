/** Messages between a TaskFlow worker process and its pool (JSON over IPC). */
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
}

export type TaskFlowReply =
  | { id: number; kind: "log"; stream: "stdout" | "stderr"; text: string }
  | { id: number; kind: "result"; outcome: "success"; value: unknown }
  | {
      id: number;
      kind: "result";
      outcome: "skipped" | "failed" | "fail_now";
      message: string;
      stack: string | null;
    };
