/**
 * dag(): runs a build function that adds tasks, checks everything eagerly (so importing a bad DAG
 * file throws a DagDefinitionError), and returns a Dag: the in-memory DAG the task runner uses for
 * task functions, and serialize() for the form every other service reads.
 */
import type { DurationInput } from "../core/duration.ts";
import { DagDefinitionError } from "../core/errors.ts";
import { isValidTimezone, type Schedule } from "../core/schedule.ts";
import type { Callback, CallbackInput } from "./callback-types.ts";
import { callbackList } from "./callbacks.ts";
import { checkDeadlines, type CheckedDeadline, type DeadlineAlert } from "./deadlines.ts";
import {
  DAG_CALLBACK_EVENTS,
  type DagCallbackEvent,
  type SerializedDeadline,
  SCHEDULE_SEMANTICS,
  SERIALIZED_DAG_VERSION,
  SerializedDagSchema,
  type ParamSpec,
  type ScheduleSemantics,
  type SerializedDag,
  type SensorSettings,
  type SerializedTask,
  type SerializedTaskGroup,
} from "../core/serialized.ts";
import { DagBuilder, withBuilder, type TaskKind, type TaskNode } from "./builder.ts";
import { checkDate, toUtc, toUtcIso, type DateInput } from "./dates.ts";
import { definitionError, describe, idProblem, type Where } from "./fail.ts";
import { topologicalOrder } from "./graph.ts";
import { serializeGroups } from "./groups.ts";
import type { JsonValue } from "./json.ts";
import {
  bool,
  checkTaskOptions,
  definedEntries,
  docText,
  duration,
  integer,
  knownEntries,
  text,
  type ResolvedTaskOptions,
  type TaskOptions,
} from "./options.ts";
import { gathering, soft } from "./problems.ts";
import { normalizeParams, type ParamInput } from "./params.ts";
import { checkSchedule, type ScheduleInput, type ScheduleSpec } from "./timetables.ts";

/** dag()'s options; each has Airflow's meaning. */
export interface DagOptions {
  /** Letters, digits, dashes, dots and underscores; at most 250 characters. */
  dagId: string;
  description?: string;
  docMd?: string;
  /**
   * When the DAG runs; null = manual runs only (default).
   * - A cron ("30 2 * * *") or preset ("@hourly", "@daily", "@weekly", "@monthly", "@quarterly",
   *   "@yearly"): by default a run at each tick whose logical date is the tick (Airflow 3's
   *   CronTriggerTimetable); with `[scheduler] create_cron_data_intervals` a run per interval
   *   between ticks, created when it ends (CronDataIntervalTimetable).
   * - `{ every: "30m" }`, optionally `{ every: "6h", anchor: "2025-01-01T03:00" }`: the same, for
   *   fixed steps (`create_delta_data_intervals`).
   * - "@once": one run at startDate. "@continuous": a new run as soon as the previous one ended.
   * - A timetable, which fixes its own semantics: cronTriggerTimetable(), multipleCronTriggerTimetable(),
   *   cronDataIntervalTimetable(), deltaTriggerTimetable(), deltaDataIntervalTimetable(), continuousTimetable().
   *
   * - Assets (data-aware): `[a, b]` (a run once each has an event), `anyOf(a, b)`, `allOf(...)`,
   *   nestable: runs start from asset events (docs/assets.md).
   *
   * @example schedule: multipleCronTriggerTimetable(["0 3 * * *", "30 15 * * 1-5"], { interval: "1d" })
   */
  schedule?: ScheduleInput;
  /**
   * For a cron string, preset or `{ every }`: "data_interval" (a run per interval, created when it
   * ends, logical date = its start) or "trigger" (a run at each tick, logical date = the tick).
   * Default: `[scheduler] create_cron_data_intervals` / `create_delta_data_intervals` (data
   * intervals). A timetable object says it itself.
   */
  scheduleSemantics?: ScheduleSemantics;
  /** "2025-01-01", "2025-01-01T06:00" (wall clock in `timezone`), an ISO time with an offset, or a Date. */
  startDate?: DateInput;
  endDate?: DateInput;
  /** IANA time zone of the schedule and of dates without an offset. Default: configuration (UTC). */
  timezone?: string;
  /** Create runs for every missed interval since startDate. Default: configuration (false). */
  catchup?: boolean;
  maxActiveRuns?: number;
  maxActiveTasks?: number;
  /**
   * Pause the DAG once this many of its latest runs in a row failed (Airflow's
   * max_consecutive_failed_dag_runs); 0 = never. Default: configuration (0).
   */
  maxConsecutiveFailedDagRuns?: number;
  /** A run still going after this long fails. */
  dagrunTimeout?: DurationInput;
  /** Options applied to every task that does not set them itself. */
  defaultArgs?: TaskOptions;
  /**
   * Run parameters: `name: default` (a JSON value, type inferred) or `name: { type, default,
   * description, enum, minimum, ... }`. An object is read as a spec when it has a `type` or
   * `default` key; write an object default as `{ type: "object", default: {...} }`.
   */
  params?: Record<string, ParamInput>;
  tags?: string[];
  /** Owner of the DAG (default: core.default_owner). A task without an owner takes defaultArgs.owner, else this. */
  owner?: string;
  /** Whether the DAG starts paused when first seen. Default: configuration. */
  isPausedUponCreation?: boolean;
  /**
   * Run when a run of this DAG succeeds (Airflow's on_success_callback): a function of the context
   * (sync or async), a notifier, or a list of them. Run once per run by the triggerer, never by the
   * scheduler, with `[core] callback_timeout`; a failing callback is logged, the run's state stands.
   */
  onSuccess?: CallbackInput;
  /**
   * Run when a run of this DAG fails (Airflow's on_failure_callback); the context has `reason` and,
   * when a task failed, that task's `ti` and `exception`. Same rules as onSuccess.
   */
  onFailure?: CallbackInput;
  /**
   * Airflow 3.1's deadline alerts: a run must finish `interval` after its `reference`
   * ("logical_date", "queued_at" or `{ fixedDatetime }`), else `callback` runs (once per run and
   * deadline) and the UI shows the deadline missed. One alert or a list of them.
   *
   * @example deadline: { reference: "queued_at", interval: "30m", callback: smtpNotifier({ to: "ops@example.com" }) }
   */
  deadline?: DeadlineAlert | readonly DeadlineAlert[];
}

const DAG_OPTION_KEYS = [
  "dagId",
  "description",
  "docMd",
  "schedule",
  "scheduleSemantics",
  "startDate",
  "endDate",
  "timezone",
  "catchup",
  "maxActiveRuns",
  "maxConsecutiveFailedDagRuns",
  "maxActiveTasks",
  "dagrunTimeout",
  "defaultArgs",
  "params",
  "tags",
  "owner",
  "isPausedUponCreation",
  "onSuccess",
  "onFailure",
  "deadline",
] as const satisfies readonly (keyof DagOptions)[];

/** Near misses that are not Airflow's spelling (those are in airflow-names.ts). */
const DAG_OPTION_HINTS: Record<string, string> = {
  scheduleInterval: "schedule",
};

/** Configuration-supplied defaults for what a DAG or task leaves unset (the SDK reads no configuration). */
export interface SerializeDefaults {
  timezone: string;
  owner: string;
  pool: string;
  queue: string;
  retries: number;
  /** Seconds. */
  retryDelay: number;
  maxActiveRuns: number;
  maxActiveTasks: number;
  maxConsecutiveFailedDagRuns: number;
  catchup: boolean;
  /** A cron string or preset gets data-interval semantics (else trigger): `[scheduler] create_cron_data_intervals`. */
  createCronDataIntervals: boolean;
  /** The same for `{ every }`: `[scheduler] create_delta_data_intervals`. */
  createDeltaDataIntervals: boolean;
}

export const BUILTIN_DEFAULTS: Readonly<SerializeDefaults> = Object.freeze({
  timezone: "UTC",
  owner: "updraft",
  pool: "default_pool",
  queue: "default",
  retries: 0,
  retryDelay: 300,
  maxActiveRuns: 16,
  maxActiveTasks: 16,
  maxConsecutiveFailedDagRuns: 0,
  catchup: false,
  createCronDataIntervals: true,
  createDeltaDataIntervals: true,
});

export interface SerializeOptions {
  /** The DAG file, relative to the DAGs folder (or "examples/<file>"). */
  fileloc: string;
  /** Configuration values for what the DAG leaves unset; missing ones come from BUILTIN_DEFAULTS. */
  defaults?: Partial<SerializeDefaults>;
}

/** A task as it exists in memory: what the task runner needs to run it. */
export interface TaskDefinition {
  readonly dagId: string;
  readonly taskId: string;
  readonly kind: TaskKind;
  /** The DAG's defaultArgs merged with the task's own options, as written. */
  readonly options: Readonly<TaskOptions>;
  /** The TaskFlow function (kind "task"); undefined for bash and empty. */
  readonly fn: ((...args: unknown[]) => unknown) | undefined;
  /** The arguments as passed, XComArg handles included. */
  readonly args: readonly unknown[];
  /** The arguments as JSON with XComRefs, as in the serialized form; see resolveXComRefs. */
  readonly serializedArgs: readonly JsonValue[];
  readonly templateFields: Readonly<Record<string, JsonValue>>;
  /** A TaskFlow task whose result's keys are each an XCom (multipleOutputs). */
  readonly multipleOutputs: boolean;
  readonly isolation: "dag" | "process";
  /** Direct upstream and downstream task ids, sorted. */
  readonly upstream: readonly string[];
  readonly downstream: readonly string[];
  /** The id of the task group the task is directly inside; undefined at the top level. */
  readonly taskGroup: string | undefined;
  /** A sensor's settings; undefined for other kinds. */
  readonly sensor: SensorSettings | undefined;
  /** A TypeScript task's `resume` (called with the trigger's event after a defer()). */
  readonly resume: ((...args: unknown[]) => unknown) | undefined;
}

/** Options of `dag.test()`. */
export interface DagTestOptions {
  /** The run's logical date: a Date or an ISO 8601 string (default: now). */
  logicalDate?: DateInput;
  /** The run's conf (what `updraft dags trigger --conf` gives), checked against the DAG's params. */
  conf?: Record<string, unknown>;
  /**
   * Record the run in the configured database and log folder (UPDRAFT_HOME), as `updraft dags test`
   * does, instead of a throwaway SQLite database deleted afterwards (the default).
   */
  useConfig?: boolean;
}

/** What `dag.test()` resolves to: the run's outcome and each task instance's (Airflow's DagRun). */
export interface DagTestResult {
  runId: string;
  state: "success" | "failed";
  taskInstances: { taskId: string; mapIndex: number; state: string | null; tryNumber: number }[];
}

/** Marks Dag objects, across copies of the SDK too (a DAG file may load another copy than the loader). */
export const DAG_BRAND: unique symbol = Symbol.for("updraft.dag") as never;

/** DAG-level options, checked; null = not set, filled from SerializeDefaults at serialize time. */
interface DagSpec {
  description: string | null;
  docMd: string | null;
  schedule: ScheduleSpec;
  startDate: string | null;
  endDate: string | null;
  timezone: string | null;
  catchup: boolean | null;
  maxActiveRuns: number | null;
  maxConsecutiveFailedDagRuns: number | null;
  maxActiveTasks: number | null;
  dagrunTimeout: number | null;
  params: Record<string, ParamSpec>;
  tags: string[];
  owner: string | null;
  isPausedUponCreation: boolean | null;
  /** DAG callbacks by event (functions and notifiers: never serialized). */
  callbacks: Record<DagCallbackEvent, Callback[]>;
  deadlines: CheckedDeadline[];
}

interface BuiltTask {
  definition: TaskDefinition;
  resolved: ResolvedTaskOptions;
  /** A mapped task: how its instances get their elements. */
  expand?: TaskNode["expand"];
}

/** A built, checked DAG. Made by dag(); recognise one with isDag(). */
export class Dag {
  readonly [DAG_BRAND] = true as const;
  readonly dagId: string;
  readonly #spec: DagSpec;
  /** In topological order. */
  readonly #tasks: Map<string, BuiltTask>;
  readonly #groups: readonly SerializedTaskGroup[];

  /** @internal */
  constructor(
    dagId: string,
    spec: DagSpec,
    tasks: Map<string, BuiltTask>,
    groups: SerializedTaskGroup[] = [],
  ) {
    this.dagId = dagId;
    this.#spec = spec;
    this.#tasks = tasks;
    this.#groups = groups;
    Object.freeze(this);
  }

  /** Task ids in topological order (ties by id), as in the serialized form. */
  get taskIds(): string[] {
    return [...this.#tasks.keys()];
  }

  get tasks(): TaskDefinition[] {
    return [...this.#tasks.values()].map((t) => t.definition);
  }

  /** The in-memory task, with its function for TaskFlow tasks; undefined if the DAG has no such task. */
  getTask(taskId: string): TaskDefinition | undefined {
    return this.#tasks.get(taskId)?.definition;
  }

  /** The serialized form (checked against SerializedDagSchema), with configuration defaults applied. */
  serialize(options: SerializeOptions): SerializedDag {
    const where = { dagId: this.dagId };
    if (typeof options?.fileloc !== "string") {
      throw definitionError(
        where,
        `serialize() needs { fileloc: "<file relative to the DAGs folder>" }, got ${describe(options)}`,
      );
    }
    const d: SerializeDefaults = { ...BUILTIN_DEFAULTS, ...definedEntries(options.defaults) };
    const spec = this.#spec;
    const timezone = spec.timezone ?? d.timezone;
    if (!isValidTimezone(timezone)) {
      throw definitionError(
        where,
        `the default timezone "${timezone}" is not an IANA time zone: set a valid core.default_timezone, e.g. "UTC"`,
      );
    }
    checkDateOrder(spec.startDate, spec.endDate, timezone, where);
    const owner = spec.owner ?? d.owner;
    const continuous = spec.schedule.schedule?.kind === "continuous";
    const dag = {
      version: SERIALIZED_DAG_VERSION,
      dagId: this.dagId,
      fileloc: options.fileloc,
      description: spec.description,
      docMd: spec.docMd,
      schedule: anchored(spec.schedule.schedule, timezone),
      scheduleSemantics: semanticsOf(spec.schedule, d),
      startDate: toUtcIso(spec.startDate, timezone),
      endDate: toUtcIso(spec.endDate, timezone),
      timezone,
      catchup: spec.catchup ?? d.catchup,
      // A continuous DAG runs one run at a time whatever the configured default says.
      maxActiveRuns: spec.maxActiveRuns ?? (continuous ? 1 : d.maxActiveRuns),
      maxActiveTasks: spec.maxActiveTasks ?? d.maxActiveTasks,
      maxConsecutiveFailedDagRuns: spec.maxConsecutiveFailedDagRuns ?? d.maxConsecutiveFailedDagRuns,
      dagrunTimeout: spec.dagrunTimeout,
      params: spec.params,
      tags: spec.tags,
      owner,
      isPausedUponCreation: spec.isPausedUponCreation,
      tasks: [...this.#tasks.values()].map((t) => serializeTask(t, owner, d)),
      ...(this.#groups.length > 0
        ? { taskGroups: structuredClone(this.#groups) as SerializedTaskGroup[] }
        : {}),
      ...serializeCallbacks(spec, timezone),
    } satisfies SerializedDag;
    const parsed = SerializedDagSchema.safeParse(dag);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw definitionError(
        where,
        `the serialized form is invalid at ${issue.path.join(".")}: ${issue.message}`,
      );
    }
    return parsed.data;
  }

  /**
   * Runs this DAG once, here, in this process (Airflow's `dag.test()`), and prints every task's log as
   * it runs (each line after its task id), then a summary. TypeScript tasks are called in this very
   * process, so `node --inspect-brk dags/etl.ts` stops at their breakpoints and `debugger`
   * statements; bash tasks run as child processes. The decisions (trigger rules, retries, mapping,
   * branching, setup/teardown) are the scheduler's own. The run goes into a throwaway SQLite database
   * unless `useConfig` is set; variables and connections from the environment (`UPDRAFT_VAR_*`,
   * `UPDRAFT_CONN_*`) are read as in any run. A failed run sets `process.exitCode` to 1.
   *
   * @example
   * ```ts
   * import { bash, dag, task } from "updraft";
   *
   * const etl = dag({ dagId: "etl", schedule: "@daily" }, () => {
   *   const extract = task("extract", () => [1, 2, 3]);
   *   const load = task("load", (rows: number[]) => console.log(`loading ${rows.length} rows`));
   *   load(extract()).before(bash("notify", { command: "echo done" }));
   * });
   * export default etl;
   *
   * // `node dags/etl.ts` runs it; the DAG processor, which imports the file, does not.
   * if (import.meta.main) await etl.test({ logicalDate: "2025-01-31T00:00:00Z", conf: { full: true } });
   * ```
   */
  async test(options: DagTestOptions = {}): Promise<DagTestResult> {
    // The SDK is pure and cheap to import (every DAG file and parse imports it): the machinery that
    // runs a DAG (database, task runner, the scheduler's decisions) is a layer above, loaded only
    // when a test asks for it. See sdk/ADR.md, decision 12.
    const { testDagInProcess } = await import("../operations/test-in-process.ts");
    return testDagInProcess(this, options);
  }

  /** The DAG's callbacks for a run event (what the triggerer's user-code process runs). */
  callbacksFor(event: DagCallbackEvent): readonly Callback[] {
    return this.#spec.callbacks[event];
  }

  /** The callbacks of the deadline at `index` of the DAG's `deadline` list ([] if there is none). */
  deadlineCallbacks(index: number): readonly Callback[] {
    return this.#spec.deadlines[index]?.callbacks ?? [];
  }

  toString(): string {
    return `<Dag ${this.dagId}>`;
  }
}

/** Which events have callbacks, and the deadlines without their callbacks; nothing when none. */
function serializeCallbacks(
  spec: DagSpec,
  timezone: string,
): { callbackEvents?: DagCallbackEvent[]; deadlines?: SerializedDeadline[] } {
  const events = DAG_CALLBACK_EVENTS.filter((e) => spec.callbacks[e].length > 0);
  const deadlines = spec.deadlines.map((d, index) => ({
    index,
    reference: d.reference,
    fixed: d.fixed === null ? null : toUtcIso(d.fixed, timezone),
    interval: d.interval,
  }));
  return {
    ...(events.length > 0 ? { callbackEvents: events } : {}),
    ...(deadlines.length > 0 ? { deadlines } : {}),
  };
}

/**
 * A schedule's semantics: its timetable's, else for a plain cron string or `{ every }` the
 * configuration's (Airflow 3: trigger unless create_*_data_intervals). Schedules without ticks
 * store "trigger"; nothing reads it for them.
 */
function semanticsOf(spec: ScheduleSpec, d: SerializeDefaults): ScheduleSemantics {
  if (spec.semantics !== null) return spec.semantics;
  const kind = spec.schedule?.kind;
  const dataIntervals =
    kind === "cron"
      ? d.createCronDataIntervals
      : kind === "interval" || kind === "delta"
        ? d.createDeltaDataIntervals
        : false;
  return dataIntervals ? "data_interval" : "trigger";
}

/** The anchor as written is a wall-clock time in the DAG's timezone unless it has an offset. */
function anchored(schedule: Schedule, timezone: string): Schedule {
  if (schedule?.kind !== "delta" || schedule.anchor === null) return schedule;
  return { ...schedule, anchor: toUtcIso(schedule.anchor, timezone) };
}

function serializeTask(task: BuiltTask, dagOwner: string, d: SerializeDefaults): SerializedTask {
  const { definition: t, resolved: r } = task;
  return {
    taskId: t.taskId,
    kind: t.kind,
    upstream: [...t.upstream],
    triggerRule: r.triggerRule,
    retries: r.retries ?? d.retries,
    retryDelay: r.retryDelay ?? d.retryDelay,
    retryExponentialBackoff: r.retryExponentialBackoff,
    maxRetryDelay: r.maxRetryDelay,
    executionTimeout: r.executionTimeout,
    dependsOnPast: r.dependsOnPast,
    waitForDownstream: r.waitForDownstream,
    pool: r.pool ?? d.pool,
    poolSlots: r.poolSlots,
    priorityWeight: r.priorityWeight,
    weightRule: r.weightRule,
    queue: r.queue ?? d.queue,
    owner: r.owner ?? dagOwner,
    docMd: r.docMd,
    memoryLimit: r.memoryLimit,
    ...(r.runAsUser ? { runAsUser: r.runAsUser } : {}),
    ...(t.multipleOutputs ? { multipleOutputs: true } : {}),
    ...(t.isolation === "process" ? { isolation: "process" as const } : {}),
    ...(r.isSetup ? { isSetup: true } : {}),
    ...(r.isTeardown ? { isTeardown: true } : {}),
    ...(r.onFailureFailDagrun ? { onFailureFailDagrun: true } : {}),
    ...(task.expand ? { expand: structuredClone(task.expand) } : {}),
    ...(task.expand && r.mapIndexTemplate ? { mapIndexTemplate: r.mapIndexTemplate } : {}),
    ...(t.taskGroup !== undefined ? { taskGroup: t.taskGroup } : {}),
    ...(t.sensor ? { sensor: { ...t.sensor } } : {}),
    ...(t.resume ? { hasResume: true } : {}),
    ...serializedCallbacks(r),
    ...(r.outlets.length > 0 ? { outlets: structuredClone(r.outlets) } : {}),
    templateFields: structuredClone(t.templateFields) as Record<string, JsonValue>,
    args: structuredClone(t.serializedArgs) as JsonValue[],
  };
}

/**
 * Which events have callbacks, and the email alerts: written only when the task has some, so a DAG
 * without callbacks serializes (and hashes) as before.
 */
function serializedCallbacks(r: ResolvedTaskOptions): Partial<SerializedTask> {
  const out: Partial<SerializedTask> = {};
  if (Object.keys(r.callbacks).length > 0) out.callbacks = { ...r.callbacks };
  if (r.email.length > 0 && (r.emailOnFailure || r.emailOnRetry))
    Object.assign(out, {
      email: [...r.email],
      emailOnFailure: r.emailOnFailure,
      emailOnRetry: r.emailOnRetry,
    });
  return out;
}

/** True for a Dag made by dag(), from this or any other copy of the SDK. */
export function isDag(value: unknown): value is Dag {
  return (
    typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[DAG_BRAND] === true
  );
}

/**
 * Defines a DAG. `build` runs at once and adds the DAG's tasks (task factories called, bash(),
 * empty()) and their dependencies; it must be synchronous. Throws a DagDefinitionError for any
 * problem, so importing a bad DAG file fails loudly: one error listing every problem found (unknown
 * options, bad values, in the DAG's options and its tasks'), or the first structural one (a cycle).
 */
export function dag(options: DagOptions, build: () => void): Dag {
  const dagId = checkDagId(options);
  const where: Where = { dagId };
  return gathering(where, () => buildDag(dagId, options, build), true);
}

/** `default_args` written without `defaultArgs`: its value and the name to report it under. */
function airflowDefaultArgs(options: DagOptions): [TaskOptions, string] | undefined {
  const raw = (options as unknown as Record<string, unknown>)["default_args"];
  if (raw === undefined || options.defaultArgs !== undefined) return undefined;
  return [raw as TaskOptions, "default_args"];
}

function buildDag(dagId: string, options: DagOptions, build: () => void): Dag {
  const where: Where = { dagId };
  const known = knownEntries(
    options,
    DAG_OPTION_KEYS,
    "dag() options",
    where,
    DAG_OPTION_HINTS,
  ) as Partial<DagOptions>;
  const spec = checkDagOptions(known, where);
  spec.schedule = soft(() => scheduleSemanticsOf(known, spec.schedule, where), spec.schedule);
  const builder = new DagBuilder(dagId);
  // Airflow's default_args is reported as unknown, and its contents are checked as well, so that
  // renaming it does not reveal a second round of problems (retry_delay inside it).
  const [args, part] = airflowDefaultArgs(options) ?? [known.defaultArgs, "defaultArgs"];
  if (args !== undefined) {
    const at = { ...where, part };
    builder.defaultArgs = soft(() => checkTaskOptions(args, at, part), {});
  }
  if (typeof build !== "function") {
    throw definitionError(
      where,
      `dag() takes a build function that adds the tasks, got ${describe(build)}: write dag({ dagId: "${dagId}" }, () => { ... })`,
    );
  }
  let result: unknown;
  try {
    result = withBuilder(builder, build);
  } finally {
    builder.sealed = true;
  }
  if (
    result !== null &&
    typeof result === "object" &&
    typeof (result as { then?: unknown }).then === "function"
  ) {
    (result as Promise<unknown>).then(undefined, () => {});
    throw definitionError(
      where,
      "the build function returned a promise: it must be synchronous, so write () => { ... } rather than async () => { ... }",
    );
  }
  return new Dag(dagId, spec, orderTasks(builder), serializeGroups(builder));
}

function checkDagId(options: unknown): string {
  if (options === null || typeof options !== "object") {
    throw new DagDefinitionError(
      `dag() takes an options object first, got ${describe(options)}: write dag({ dagId: "my_dag" }, () => { ... })`,
    );
  }
  // An Airflow user's dag_id names the DAG meanwhile, so its other problems are listed with it.
  const given = options as { dagId?: unknown; dag_id?: unknown };
  const dagId = given.dagId === undefined && typeof given.dag_id === "string" ? given.dag_id : given.dagId;
  const problem = idProblem(dagId);
  if (problem) {
    const shown = typeof dagId === "string" && dagId !== "" ? `dag "${dagId}": ` : "dag(): ";
    throw new DagDefinitionError(`${shown}the dag id ${problem}`, typeof dagId === "string" ? { dagId } : {});
  }
  return dagId as string;
}

/** Each option checked on its own, so every bad one is reported (problems.ts); a bad one counts as unset. */
function checkDagOptions(o: Partial<DagOptions>, where: Where): DagSpec {
  const check = <T>(fn: () => T): T | null => soft(fn, null);
  const schedule = soft(() => checkSchedule(o.schedule, where), {
    schedule: null,
    semantics: null,
    timezone: null,
  } as ScheduleSpec);
  const timezone = check(() => sameTimezone(checkTimezone(o.timezone, where), schedule.timezone, where));
  const startDate = check(() => checkDate(o.startDate, "startDate", where));
  const endDate = check(() => checkDate(o.endDate, "endDate", where));
  check(() => checkDateOrder(startDate, endDate, timezone ?? "UTC", where));
  const maxActiveRuns = check(() => integer(o.maxActiveRuns, "maxActiveRuns", where, 1, "maxActiveRuns: 1"));
  check(() => checkContinuous(schedule.schedule, maxActiveRuns ?? null, where));
  return {
    description: check(() => docText(o.description, "description", where)) ?? null,
    docMd: check(() => docText(o.docMd, "docMd", where)) ?? null,
    schedule,
    startDate,
    endDate,
    timezone,
    catchup: o.catchup === undefined ? null : check(() => bool(o.catchup, "catchup", where, false)),
    maxActiveRuns: maxActiveRuns ?? null,
    maxActiveTasks:
      check(() => integer(o.maxActiveTasks, "maxActiveTasks", where, 1, "maxActiveTasks: 8")) ?? null,
    maxConsecutiveFailedDagRuns:
      check(() =>
        integer(
          o.maxConsecutiveFailedDagRuns,
          "maxConsecutiveFailedDagRuns",
          where,
          0,
          "maxConsecutiveFailedDagRuns: 3",
        ),
      ) ?? null,
    dagrunTimeout: check(() => duration(o.dagrunTimeout, "dagrunTimeout", where, true)) ?? null,
    params: soft(() => normalizeParams(o.params, where), {}),
    tags: soft(() => checkTags(o.tags, where), []),
    owner: check(() => text(o.owner, "owner", where, 'owner: "data-team"')) ?? null,
    isPausedUponCreation:
      o.isPausedUponCreation === undefined
        ? null
        : check(() => bool(o.isPausedUponCreation, "isPausedUponCreation", where, false)),
    callbacks: {
      dag_success: soft(() => callbackList(o.onSuccess, where, "onSuccess"), []),
      dag_failure: soft(() => callbackList(o.onFailure, where, "onFailure"), []),
    },
    deadlines: soft(() => checkDeadlines(o.deadline, where), []),
  };
}

function checkTimezone(value: unknown, where: Where): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== "string" || !isValidTimezone(value)) {
    throw definitionError(
      where,
      `timezone ${describe(value)} is not an IANA time zone: write e.g. "UTC", "Europe/Amsterdam" or "America/New_York"`,
    );
  }
  return value;
}

/** A timetable's timezone is the DAG's: either may name it, and both may only name the same. */
function sameTimezone(dag: string | null, timetable: string | null, where: Where): string | null {
  if (dag !== null && timetable !== null && dag !== timetable) {
    throw definitionError(
      where,
      `timezone "${dag}" and the schedule's timezone "${timetable}" differ: a DAG's crons are read in its timezone, so give it once (on the DAG or the timetable)`,
    );
  }
  return dag ?? timetable;
}

/** Airflow's ContinuousTimetable allows one active run; more would start runs back to back at once. */
function checkContinuous(schedule: Schedule, maxActiveRuns: number | null, where: Where): void {
  if (schedule?.kind !== "continuous" || maxActiveRuns === null || maxActiveRuns === 1) return;
  throw definitionError(
    where,
    `schedule "@continuous" starts a run once the previous one has ended, so maxActiveRuns must be 1, got ${maxActiveRuns}: leave maxActiveRuns out or set it to 1`,
  );
}

/** The per-DAG choice of semantics for a cron string or `{ every }` (a timetable object has its own). */
function scheduleSemanticsOf(
  options: Partial<DagOptions>,
  schedule: ScheduleSpec,
  where: Where,
): ScheduleSpec {
  const value = options.scheduleSemantics;
  if (value === undefined) return schedule;
  if (!SCHEDULE_SEMANTICS.includes(value))
    throw definitionError(
      where,
      `scheduleSemantics ${describe(value)} is not one of "data_interval", "trigger": write "data_interval" (a run per interval, created when it ends) or "trigger" (a run at each tick)`,
    );
  if (schedule.semantics !== null && schedule.semantics !== value)
    throw definitionError(
      where,
      `scheduleSemantics "${value}" contradicts the timetable given as schedule, which is "${schedule.semantics}": remove scheduleSemantics`,
    );
  return { ...schedule, semantics: value };
}

function checkDateOrder(start: string | null, end: string | null, timezone: string, where: Where): void {
  if (start === null || end === null) return;
  if (toUtc(end, timezone) < toUtc(start, timezone)) {
    throw definitionError(
      where,
      `endDate ${end} is before startDate ${start}: set an endDate after the startDate, or leave it out`,
    );
  }
}

function checkTags(value: unknown, where: Where): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((t) => typeof t !== "string" || t.trim() === "")) {
    throw definitionError(
      where,
      `tags must be an array of non-empty strings, got ${describe(value)}: write e.g. tags: ["example"]`,
    );
  }
  return [...new Set(value as string[])];
}

/** Checks the graph for cycles and freezes the tasks in topological order. */
function orderTasks(builder: DagBuilder): Map<string, BuiltTask> {
  const upstream = new Map([...builder.nodes].map(([id, node]) => [id, node.upstream]));
  const sorted = topologicalOrder(upstream);
  if (sorted.cycle) {
    throw definitionError(
      builder.where(),
      `has a cycle: ${sorted.cycle.join(" -> ")}: a DAG's dependencies must not loop; remove one of these dependencies`,
    );
  }
  const downstream = new Map<string, string[]>(sorted.order.map((id) => [id, []]));
  for (const id of sorted.order)
    for (const up of builder.nodes.get(id)!.upstream) downstream.get(up)!.push(id);
  return new Map(
    sorted.order.map((id) => {
      const node = builder.nodes.get(id)!;
      return [
        id,
        {
          definition: freezeTask(builder.dagId, node, downstream.get(id)!),
          resolved: node.resolved,
          expand: node.expand,
        },
      ];
    }),
  );
}

function freezeTask(dagId: string, node: TaskNode, downstream: string[]): TaskDefinition {
  return Object.freeze({
    dagId,
    taskId: node.taskId,
    kind: node.kind,
    options: Object.freeze({ ...node.options }),
    fn: node.fn as TaskDefinition["fn"],
    args: node.rawArgs,
    serializedArgs: deepFreeze(node.args),
    templateFields: deepFreeze(node.templateFields),
    multipleOutputs: node.multipleOutputs === true,
    isolation: node.isolation ?? "dag",
    upstream: Object.freeze([...node.upstream].sort()),
    downstream: Object.freeze(downstream.sort()),
    taskGroup: node.group,
    sensor: node.sensor,
    resume: node.resume as TaskDefinition["resume"],
  });
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object") {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}
