/** Serialized DAGs and tasks for storage and scheduler tests, with every field at its default. */
import { SERIALIZED_DAG_VERSION, type SerializedDag, type SerializedTask } from "../core/serialized.ts";

export function serializedTask(
  taskId: string,
  upstream: string[] = [],
  extra: Partial<SerializedTask> = {},
): SerializedTask {
  return {
    taskId,
    kind: "empty",
    upstream,
    triggerRule: "all_success",
    retries: 0,
    retryDelay: 300,
    retryExponentialBackoff: false,
    maxRetryDelay: null,
    executionTimeout: null,
    dependsOnPast: false,
    waitForDownstream: false,
    pool: "default_pool",
    poolSlots: 1,
    priorityWeight: 1,
    weightRule: "downstream",
    queue: "default",
    owner: "o",
    docMd: null,
    memoryLimit: null,
    templateFields: {},
    args: [],
    ...extra,
  };
}

export function serializedDag(
  dagId: string,
  tasks: SerializedTask[],
  extra: Partial<SerializedDag> = {},
): SerializedDag {
  return {
    version: SERIALIZED_DAG_VERSION,
    dagId,
    fileloc: `${dagId}.ts`,
    description: null,
    docMd: null,
    schedule: null,
    scheduleSemantics: "data_interval",
    startDate: null,
    endDate: null,
    timezone: "UTC",
    catchup: false,
    maxActiveRuns: 16,
    maxActiveTasks: 16,
    maxConsecutiveFailedDagRuns: 0,
    dagrunTimeout: null,
    params: {},
    tags: [],
    owner: "o",
    isPausedUponCreation: null,
    tasks,
    ...extra,
  };
}
