/**
 * The serialized DAG: what the DAG processor stores and every service other than the task runner
 * reads. One Zod schema each; types are inferred from them. Bump SERIALIZED_DAG_VERSION on any
 * change a reader of an older form would misread (see ADR in ./ADR.md).
 */
import { z } from "zod";
import { AssetConditionSchema, OutletSchema } from "./assets.ts";
import { ExpandSchema } from "./mapping.ts";
import { TRIGGER_RULES, WEIGHT_RULES } from "./trigger-rules.ts";

export const SERIALIZED_DAG_VERSION = 1;

const JsonValue: z.ZodType<unknown> = z.lazy(() =>
  z.union([
    z.string(),
    z.number(),
    z.boolean(),
    z.null(),
    z.array(JsonValue),
    z.record(z.string(), JsonValue),
  ]),
);

/**
 * A DAG's schedule. "cron" and "interval" take their semantics from the DAG's scheduleSemantics.
 * The kinds after them say what those two cannot, so they are only written when needed: a reader
 * older than a kind refuses it instead of misreading it (extra keys on an old kind would be dropped
 * silently). Durations are seconds; the anchor is an ISO-8601 UTC instant.
 */
export const ScheduleSchema = z
  .discriminatedUnion("kind", [
    z.object({ kind: z.literal("cron"), expression: z.string(), preset: z.string().nullable() }),
    z.object({ kind: z.literal("interval"), seconds: z.number().positive() }),
    z.object({ kind: z.literal("once") }),
    /**
     * Airflow's CronTriggerTimetable with an interval, and MultipleCronTriggerTimetable: a run at
     * each tick of any of the expressions (presets as written), covering [tick - interval, tick].
     * Always trigger semantics.
     */
    z.object({
      kind: z.literal("cron_trigger"),
      expressions: z.array(z.string()).min(1),
      interval: z.number().min(0),
    }),
    /**
     * A fixed step with an anchor (ticks at anchor + k * seconds) or, with trigger semantics, an
     * interval the data interval reaches back over; semantics from scheduleSemantics.
     */
    z.object({
      kind: z.literal("delta"),
      seconds: z.number().positive(),
      anchor: z.string().nullable(),
      interval: z.number().min(0),
    }),
    /** Airflow's ContinuousTimetable ("@continuous"): a new run as soon as the previous one ended. */
    z.object({ kind: z.literal("continuous") }),
    /**
     * Data-aware (Airflow's AssetTriggeredTimetable): a run when the asset events queued for the DAG
     * satisfy the condition (`schedule: [a, b]` is all of them; anyOf / allOf nest).
     */
    z.object({ kind: z.literal("assets"), condition: AssetConditionSchema }),
  ])
  .nullable();

/**
 * How a cron or interval schedule maps to runs: "data_interval" (Airflow 2's default: a run covers
 * the interval that just ended, logical date = its start) or "trigger" (Airflow 3's default: a run
 * at each tick, logical date = the tick, an empty interval). The DAG processor fills it in from the
 * timetable a DAG names, else the DAG's scheduleSemantics, else `[scheduler] create_cron_data_intervals`
 * / `create_delta_data_intervals` (true by default: Updraft keeps data intervals as its default).
 */
export const SCHEDULE_SEMANTICS = ["data_interval", "trigger"] as const;
export type ScheduleSemantics = (typeof SCHEDULE_SEMANTICS)[number];

/** A DAG param, JSON-Schema style (type, default, enum, bounds) as Airflow's Param. */
export const ParamSpecSchema = z.object({
  type: z
    .union([
      z.enum(["string", "number", "integer", "boolean", "object", "array", "null"]),
      z.array(z.enum(["string", "number", "integer", "boolean", "object", "array", "null"])),
    ])
    .optional(),
  default: JsonValue.optional(),
  description: z.string().optional(),
  title: z.string().optional(),
  enum: z.array(JsonValue).optional(),
  minimum: z.number().optional(),
  maximum: z.number().optional(),
  minLength: z.number().int().optional(),
  maxLength: z.number().int().optional(),
  pattern: z.string().optional(),
  format: z.string().optional(),
});
export type ParamSpec = z.infer<typeof ParamSpecSchema>;

/** A reference to another task's XCom, as it appears inside serialized TaskFlow arguments. */
export const XComRefSchema = z.object({ __xcom__: z.object({ taskId: z.string(), key: z.string() }) });
export type XComRef = z.infer<typeof XComRefSchema>;

/** An operating-system user name as run_as_user takes it (POSIX-portable, at most 64 characters). */
export function isUserName(name: string): boolean {
  return name.length <= 64 && /^[a-z_][a-z0-9_.-]*\$?$/i.test(name);
}

/** A sensor's settings (sdk/sensors.ts); durations in seconds. */
export const SensorSettingsSchema = z.object({
  mode: z.enum(["poke", "reschedule"]),
  pokeInterval: z.number().positive(),
  timeout: z.number().min(0),
  softFail: z.boolean(),
  exponentialBackoff: z.boolean(),
  maxWait: z.number().positive().nullable(),
  deferrable: z.boolean(),
});
export type SensorSettings = z.infer<typeof SensorSettingsSchema>;

/** Task events with callbacks (sdk/callbacks.ts TASK_CALLBACK_OPTIONS). */
export const TASK_CALLBACK_EVENTS = ["onExecute", "onSuccess", "onFailure", "onRetry", "onSkipped"] as const;
export type TaskCallbackEvent = (typeof TASK_CALLBACK_EVENTS)[number];

export const SerializedTaskSchema = z.object({
  taskId: z.string(),
  /** "task" (a TypeScript function), "bash", "empty"; later issues add more kinds. */
  kind: z.string(),
  /** Direct upstream task ids, sorted. Downstream ids are derived (see downstreamOf). */
  upstream: z.array(z.string()),
  triggerRule: z.enum(TRIGGER_RULES),
  retries: z.number().int().min(0),
  retryDelay: z.number().min(0),
  retryExponentialBackoff: z.boolean(),
  maxRetryDelay: z.number().min(0).nullable(),
  executionTimeout: z.number().positive().nullable(),
  dependsOnPast: z.boolean(),
  waitForDownstream: z.boolean(),
  pool: z.string(),
  poolSlots: z.number().int().min(1),
  priorityWeight: z.number().int(),
  weightRule: z.enum(WEIGHT_RULES),
  queue: z.string(),
  owner: z.string(),
  docMd: z.string().nullable(),
  /** MiB; null = the configured default. */
  memoryLimit: z.number().positive().nullable(),
  /** Operating-system user the task runs as; null/absent = `[core] default_impersonation`. */
  runAsUser: z.string().nullable().optional(),
  /** A TaskFlow task's process: "dag" (a worker shared by the DAG's tasks) or "process" (one per try). */
  isolation: z.enum(["dag", "process"]).optional(),
  /** A TaskFlow task whose returned object's keys are each an XCom of their own (absent: false). */
  multipleOutputs: z.boolean().optional(),
  /** A setup task (absent: false). */
  isSetup: z.boolean().optional(),
  /** A teardown task: its rule is all_done_setup_success (absent: false). */
  isTeardown: z.boolean().optional(),
  /** A teardown whose failure fails the run (Airflow's on_failure_fail_dagrun; absent: false). */
  onFailureFailDagrun: z.boolean().optional(),
  /** A mapped task (core/mapping.ts): how its instances get their elements (absent: not mapped). */
  expand: ExpandSchema.optional(),
  /** A mapped instance's label, a template rendered when its try ends (Airflow's map_index_template). */
  mapIndexTemplate: z.string().optional(),
  /** The task group the task is directly inside (absent: the top level); see taskGroups. */
  taskGroup: z.string().optional(),
  /** A sensor's settings (absent: not a sensor). */
  sensor: SensorSettingsSchema.optional(),
  /** A TypeScript task with a `resume` function for after a defer() (absent: false). */
  hasResume: z.boolean().optional(),
  /**
   * How many callbacks the task has for each event (absent: none). The functions stay in the DAG
   * file: this tells the runner, without loading user code, whether to ask a worker to run any and
   * how long they may take in all.
   */
  callbacks: z.partialRecord(z.enum(TASK_CALLBACK_EVENTS), z.number().int().positive()).optional(),
  /** Addresses emailOnFailure / emailOnRetry alerts go to (absent: none). */
  email: z.array(z.string()).optional(),
  /** Email `email` when the task fails (Airflow's email_on_failure; absent: false). */
  emailOnFailure: z.boolean().optional(),
  /** Email `email` when a try fails and the task will retry (Airflow's email_on_retry; absent: false). */
  emailOnRetry: z.boolean().optional(),
  /** Assets (and aliases) the task updates when it succeeds (absent: none). */
  outlets: z.array(OutletSchema).optional(),
  /** Template fields of the task kind (bash: command, env, cwd), unrendered. */
  templateFields: z.record(z.string(), JsonValue),
  /** TaskFlow arguments: JSON with XComRef objects where another task's output is passed. */
  args: z.array(JsonValue),
});
export type SerializedTask = z.infer<typeof SerializedTaskSchema>;

/**
 * A task group (Airflow's TaskGroup): tasks shown together, collapsed or expanded, in the graph and the
 * grid. Only people and the API read groups: the scheduler runs the tasks' own dependencies.
 */
export const SerializedTaskGroupSchema = z.object({
  /** The full id: "outer.inner" when "outer" prefixes the ids of what it holds. */
  groupId: z.string(),
  /** The group it is directly inside; null at the top level. */
  parent: z.string().nullable(),
  /** Whether the ids of its tasks and inner groups start with "<groupId>." (Airflow's prefix_group_id). */
  prefixGroupId: z.boolean(),
  tooltip: z.string(),
  uiColor: z.string(),
  uiFgColor: z.string(),
  /** The ids of the tasks and groups directly inside it, in the order they were added. */
  children: z.array(z.string()),
  /** Dependencies set on the group as a whole (`group >> x`, `x >> group`), sorted: the graph's join nodes. */
  upstreamGroupIds: z.array(z.string()),
  upstreamTaskIds: z.array(z.string()),
  downstreamGroupIds: z.array(z.string()),
  downstreamTaskIds: z.array(z.string()),
  /** A mapped task group (`group.expand(items)`): its tasks map over its list (absent: false). */
  isMapped: z.boolean().optional(),
});
export type SerializedTaskGroup = z.infer<typeof SerializedTaskGroupSchema>;

/** The DAG run events a DAG has callbacks for (`onSuccess`, `onFailure`); the triggerer runs them. */
export const DAG_CALLBACK_EVENTS = ["dag_success", "dag_failure"] as const;
export type DagCallbackEvent = (typeof DAG_CALLBACK_EVENTS)[number];

/**
 * A run's deadline (Airflow 3.1's DeadlineAlert): the run must finish `interval` seconds after its
 * reference; `index` is its position in the DAG's list (the callback the triggerer runs). Never the
 * callback itself: functions stay in the DAG file.
 */
export const SerializedDeadlineSchema = z.object({
  index: z.number().int().min(0),
  reference: z.enum(["logical_date", "queued_at", "fixed_datetime"]),
  /** fixed_datetime: the ISO-8601 UTC instant; null otherwise. */
  fixed: z.string().nullable(),
  interval: z.number().min(0),
});
export type SerializedDeadline = z.infer<typeof SerializedDeadlineSchema>;

export const SerializedDagSchema = z.object({
  version: z.literal(SERIALIZED_DAG_VERSION),
  dagId: z.string(),
  /** The DAG file, relative to the DAGs folder (or "examples/<file>" for bundled examples). */
  fileloc: z.string(),
  description: z.string().nullable(),
  docMd: z.string().nullable(),
  schedule: ScheduleSchema,
  /** Defaults so that forms stored before the field existed still parse. */
  scheduleSemantics: z.enum(SCHEDULE_SEMANTICS).default("data_interval"),
  /** ISO-8601 UTC instants. */
  startDate: z.string().nullable(),
  endDate: z.string().nullable(),
  timezone: z.string(),
  catchup: z.boolean(),
  maxActiveRuns: z.number().int().min(1),
  maxActiveTasks: z.number().int().min(1),
  /** Pause after this many failed runs in a row; 0 = never (a default so stored forms parse). */
  maxConsecutiveFailedDagRuns: z.number().int().min(0).default(0),
  dagrunTimeout: z.number().positive().nullable(),
  params: z.record(z.string(), ParamSpecSchema),
  tags: z.array(z.string()),
  owner: z.string(),
  isPausedUponCreation: z.boolean().nullable(),
  /** Topologically sorted (ties by task id), so readers can walk it in order. */
  tasks: z.array(SerializedTaskSchema),
  /** Task groups, outer before inner; absent when the DAG has none (so older forms parse, and hash the same). */
  taskGroups: z.array(SerializedTaskGroupSchema).optional(),
  /** The run events with DAG callbacks; absent when none (so older forms parse, and hash the same). */
  callbackEvents: z.array(z.enum(DAG_CALLBACK_EVENTS)).optional(),
  /** The runs' deadlines; absent when none. */
  deadlines: z.array(SerializedDeadlineSchema).optional(),
});
export type SerializedDag = z.infer<typeof SerializedDagSchema>;

const downstreamMemo = new WeakMap<SerializedDag, Map<string, string[]>>();
const taskMemo = new WeakMap<SerializedDag, Map<string, { task: SerializedTask; position: number }>>();

/** Each task's direct downstream task ids (computed once per DAG object; treat it as read-only). */
export function downstreamOf(dag: SerializedDag): Map<string, string[]> {
  let out = downstreamMemo.get(dag);
  if (out) return out;
  out = new Map<string, string[]>(dag.tasks.map((t) => [t.taskId, []]));
  for (const task of dag.tasks) for (const up of task.upstream) out.get(up)?.push(task.taskId);
  downstreamMemo.set(dag, out);
  return out;
}

/** A task by id, with its position in the topological order (computed once per DAG object). */
export function taskById(
  dag: SerializedDag,
  taskId: string,
): { task: SerializedTask; position: number } | undefined {
  let byId = taskMemo.get(dag);
  if (!byId) {
    byId = new Map(dag.tasks.map((task, position) => [task.taskId, { task, position }]));
    taskMemo.set(dag, byId);
  }
  return byId.get(taskId);
}
