/**
 * The task kinds: task() (TaskFlow: a TypeScript function whose arguments and result travel as
 * XComs), bash() and empty(). task() only defines; calling the returned factory adds a task to the
 * DAG being built. bash() and empty() add their task at once.
 */
import { currentBuilder, peekBuilder, type DagBuilder, type TaskKind, type TaskNode } from "./builder.ts";
import { definitionError, describe, idProblem, type Where } from "./fail.ts";
import { connect, TaskHandle, XComArg } from "./handles.ts";
import { argToJson, toJson, type JsonValue } from "./json.ts";
import { mappableFields } from "../core/mapping.ts";
import {
  checkRole,
  checkTaskOptions,
  definedEntries,
  knownEntries,
  resolveTaskOptions,
  TASK_OPTION_KEYS,
  type TaskOptions,
} from "./options.ts";
import { airflowTarget } from "./airflow-names.ts";
import { gathering, report, soft } from "./problems.ts";

type Primitive = string | number | boolean | bigint | symbol | null | undefined;

/**
 * What may be passed where a task function expects a `T`: a `T`, the output of a task producing a
 * `T` (XComArg<T>), or an array/object holding such outputs in place of its elements.
 */
export type ArgInput<T> = T | XComArg<T> | NestedArgInput<T>;
type NestedArgInput<T> = T extends Primitive | ((...args: never[]) => unknown)
  ? never
  : T extends object
    ? { [K in keyof T]: ArgInput<T[K]> }
    : never;

/** The arguments of a TaskFlow call, given the task function's parameters. */
export type TaskArgs<Args extends readonly unknown[]> = { [K in keyof Args]: ArgInput<Args[K]> };

/** Options of task(): any task option, and what only TypeScript tasks have. */
export interface TaskFunctionOptions extends TaskOptions {
  /**
   * The function returns an object whose keys are each pushed as an XCom of their own (Airflow's
   * multiple_outputs), besides the whole object as return_value: read one with `out.key("rows")`.
   */
  multipleOutputs?: boolean;
  /**
   * "dag" (default): the task runs in a worker process of its DAG, reused by that DAG's tasks, so it
   * starts in milliseconds; its globals and process.env changes may be seen by later tasks of the
   * same DAG, never by another DAG's. "process": each try gets a fresh process of its own, for tasks
   * that change globals or process state.
   *
   * @example task("reset", () => { process.env.TZ = "UTC"; }, { isolation: "process" })
   */
  isolation?: "dag" | "process";
  /**
   * After a `defer()`, the task resumes in a new process by calling this with the trigger's event
   * and the task's own arguments; what it returns is the task's result (it may defer again).
   * Without it, the event itself is the result.
   */
  resume?: (event: JsonValue, ...args: never[]) => unknown;
}

/** Options of task() and override(); `taskId` only in override(). */
export interface TaskFlowOptions extends TaskFunctionOptions {
  taskId?: string;
}

/**
 * What a mapped task maps over: a list written here, or the output of a task that returns a list (a
 * mapped task's output is the list of its instances' results).
 */
export type MapInput<T> = readonly ArgInput<T>[] | XComArg<readonly T[]>;
/** Keyword arguments of a function taking one object, each given a list to map over. */
export type MapKeywords<A> = { [K in keyof A]?: MapInput<A[K]> };
/** Some keyword arguments of a function taking one object. */
export type Keywords<A> = { [K in keyof A]?: ArgInput<A[K]> };
/** The one parameter of a task function, or never when it takes another number. */
type OnlyParam<Args extends unknown[]> = Args extends [infer A] ? A : never;

/** A task with some keyword arguments fixed (Airflow's partial()), still to be mapped. */
export interface PartialTask<A, R> {
  /**
   * One task instance per combination of the given lists (the cross product, the last key varying
   * fastest), each called with the fixed arguments and its combination. Returns the list of results.
   */
  expand(mapped: MapKeywords<A>): XComArg<R[]>;
  /** One task instance per object of the list, each merged over the fixed arguments. */
  expandKwargs(items: readonly Keywords<A>[] | XComArg<readonly Keywords<A>[]>): XComArg<R[]>;
}

/** What task() returns: call it inside a dag() build to add the task; the call returns its output. */
export interface TaskFactory<Args extends unknown[], R> {
  (...args: TaskArgs<Args>): XComArg<Awaited<R>>;
  /** The id the first call gets; later calls get `<taskId>__1`, `<taskId>__2`, ... */
  readonly taskId: string;
  /** The same function with other options (and possibly another id), like Airflow's `.override()`. */
  override(options: TaskFlowOptions): TaskFactory<Args, R>;
  /**
   * Dynamic task mapping (Airflow's expand): one task instance per element of `items`, each called
   * with its element; for a function taking one object, `expand({ x: items })` maps keyword `x`.
   * The lists may be task outputs, known at run time. Returns the list of results, in map-index order.
   */
  expand(items: MapInput<OnlyParam<Args>> | MapKeywords<OnlyParam<Args>>): XComArg<Awaited<R>[]>;
  /** Fixes some keyword arguments of a function taking one object; map the rest with expand(). */
  partial(fixed: Keywords<OnlyParam<Args>>): PartialTask<OnlyParam<Args>, Awaited<R>>;
  /** One task instance per object of the list, the function's one object argument. */
  expandKwargs(
    items: readonly Keywords<OnlyParam<Args>>[] | XComArg<readonly Keywords<OnlyParam<Args>>[]>,
  ): XComArg<Awaited<R>[]>;
}

interface FactorySpec {
  taskId: string;
  /**
   * "task", or "branch"/"short_circuit": TaskFlow functions whose result also picks what runs next;
   * "task_bash": a function whose result is the bash command the task then runs.
   */
  kind: "task" | "branch" | "short_circuit" | "task_bash";
  /** Settings of the kind (short_circuit: ignoreDownstreamTriggerRules), stored with the task. */
  settings: Record<string, JsonValue>;
  fn: (...args: never[]) => unknown;
  options: TaskOptions;
  multipleOutputs: boolean;
  isolation: "dag" | "process";
  resume?: (...args: never[]) => unknown;
  /** The task() call this factory comes from, shared by its overrides. */
  origin: object;
}

/**
 * Defines a TaskFlow task. `fn` runs at task run time in the task runner, with each XComArg
 * argument replaced by that task's output; its (awaited) result becomes this task's
 * "return_value" XCom and must be JSON.
 *
 * @example const total = task("total", async (rows: number[]) => rows.reduce((a, b) => a + b, 0));
 */
export function task<Args extends unknown[], R>(
  taskId: string,
  fn: (...args: Args) => R,
  taskOptions: TaskFunctionOptions = {},
): TaskFactory<Args, R> {
  const where = { dagId: peekBuilder()?.dagId };
  return gathering({ ...where, taskId }, () => {
    const split = splitFunctionOptions(taskOptions, { ...where, taskId });
    checkTaskId(taskId, where);
    if (typeof fn !== "function") {
      throw definitionError(
        { ...where, taskId },
        `task() takes the task's function as its second argument, got ${describe(fn)}: write task("${taskId}", async () => { ... })`,
      );
    }
    const options = checkRole(checkTaskOptions(split.options, { ...where, taskId }), { ...where, taskId });
    const factory = makeFactory<Args, R>({
      taskId,
      kind: "task",
      settings: {},
      fn: fn as FactorySpec["fn"],
      options,
      multipleOutputs: split.multipleOutputs,
      isolation: split.isolation,
      resume: split.resume,
      origin: {},
    });
    CHECKED_OPTIONS.set(factory, options);
    return factory;
  });
}

/** Options of task.bash(): task()'s, and bash()'s env, cwd (templates) and doXcomPush. */
export interface TaskBashOptions extends TaskOptions {
  /** Extra environment variables (values are templates). */
  env?: Record<string, string>;
  /** Working directory (a template). Default: a temporary directory. */
  cwd?: string;
  /** Push the last line the command writes as the task's XCom (Airflow's do_xcom_push). Default true. */
  doXcomPush?: boolean;
}

/**
 * Defines a bash task whose command a TypeScript function makes (Airflow's @task.bash): the function
 * runs in a TaskFlow worker with its arguments (task outputs too), returns the command (a non-empty
 * string, rendered as a template), and the command then runs as bash() runs it: exit code 0 is
 * success, 99 skipped, anything else failed. Call the returned factory to add the task.
 *
 * @example
 * ```ts
 * const archive = task.bash("archive", (day: string) => `tar czf /backups/${day}.tgz /data/${day}`);
 * archive("{{ ds }}");
 * ```
 */
function taskBash<Args extends unknown[]>(
  taskId: string,
  fn: (...args: Args) => string | Promise<string>,
  options: TaskBashOptions = {},
): TaskFactory<Args, string> {
  const where = { dagId: peekBuilder()?.dagId, taskId };
  const { env, cwd, doXcomPush, ...rest } = (options ?? {}) as TaskBashOptions;
  const settings: Record<string, JsonValue> = {};
  if (noXcomPush(doXcomPush, where)) settings.doXcomPush = false;
  if (env !== undefined) {
    const checked = soft(() => checkEnv(env, where), undefined);
    if (checked) settings.env = checked;
  }
  if (cwd !== undefined) {
    if (typeof cwd !== "string" || cwd.trim() === "")
      report(
        definitionError(where, `cwd must be a non-empty path, got ${describe(cwd)}: write e.g. cwd: "/tmp"`),
      );
    else settings.cwd = cwd;
  }
  const factory = task(taskId, fn, rest);
  return makeFactory({
    taskId,
    kind: "task_bash",
    settings,
    fn: fn as FactorySpec["fn"],
    options: CHECKED_OPTIONS.get(factory) ?? {},
    multipleOutputs: false,
    isolation: "dag",
    origin: factory,
  });
}
task.bash = taskBash;

/** The options task() kept for each factory it made, once their problems were reported. */
const CHECKED_OPTIONS = new WeakMap<object, TaskOptions>();

/**
 * Defines a branch task (Airflow's @task.branch): its function returns the id (or ids) of the
 * directly downstream tasks to follow; the other direct downstream tasks are skipped. Return null
 * to skip them all. A join after a branch usually wants triggerRule "none_failed_min_one_success".
 */
export function branch<Args extends unknown[], R extends string | string[] | null | undefined | void>(
  taskId: string,
  fn: (...args: Args) => R | Promise<R>,
  options: TaskOptions = {},
): TaskFactory<Args, R> {
  const factory = task(taskId, fn, options);
  return makeFactory({
    taskId,
    kind: "branch",
    settings: {},
    fn: fn as FactorySpec["fn"],
    options: CHECKED_OPTIONS.get(factory) ?? {},
    multipleOutputs: false,
    isolation: "dag",
    origin: factory,
  });
}

/** Options of shortCircuit(). */
export interface ShortCircuitOptions extends TaskOptions {
  /**
   * true (default): a falsy result skips every task downstream, whatever its trigger rule. false:
   * only the direct downstream tasks are skipped, and the rest follow their trigger rules.
   */
  ignoreDownstreamTriggerRules?: boolean;
}

/**
 * Defines a short-circuit task (Airflow's @task.short_circuit): when its function returns a falsy
 * value, the tasks after it are skipped; a truthy value lets them run.
 */
export function shortCircuit<Args extends unknown[], R>(
  taskId: string,
  fn: (...args: Args) => R,
  options: ShortCircuitOptions = {},
): TaskFactory<Args, R> {
  const { ignoreDownstreamTriggerRules = true, ...rest } = options;
  const factory = task(taskId, fn, rest);
  const settings = { ignoreDownstreamTriggerRules: ignoreDownstreamTriggerRules !== false };
  return makeFactory({
    taskId,
    kind: "short_circuit",
    settings,
    fn: fn as FactorySpec["fn"],
    options: CHECKED_OPTIONS.get(factory) ?? {},
    multipleOutputs: false,
    isolation: "dag",
    origin: factory,
  });
}

function makeFactory<Args extends unknown[], R>(spec: FactorySpec): TaskFactory<Args, R> {
  const factory = (...args: unknown[]) => invoke(spec, args);
  const override = (options: TaskFlowOptions): TaskFactory<Args, R> => {
    const where = { dagId: peekBuilder()?.dagId, taskId: spec.taskId };
    return gathering(where, () => {
      const allowed = ["taskId", ...FUNCTION_KEYS, ...TASK_OPTION_KEYS];
      const known = knownEntries(options, allowed, "override()", where) as TaskFlowOptions;
      const { taskId = spec.taskId, ...rest } = known;
      checkTaskId(taskId, where);
      const split = splitFunctionOptions(rest, { ...where, taskId });
      const merged = checkRole(
        checkTaskOptions(
          { ...definedEntries(spec.options), ...definedEntries(split.options) },
          { ...where, taskId },
        ),
        { ...where, taskId },
      );
      const multipleOutputs =
        rest.multipleOutputs === undefined ? spec.multipleOutputs : split.multipleOutputs;
      const isolation = rest.isolation === undefined ? spec.isolation : split.isolation;
      const resume = split.resume ?? spec.resume;
      return makeFactory<Args, R>({ ...spec, taskId, options: merged, multipleOutputs, isolation, resume });
    });
  };
  const partial = (fixed: unknown) => partialTask(spec, fixed);
  Object.defineProperties(factory, {
    name: { value: spec.taskId },
    taskId: { value: spec.taskId, enumerable: true },
    override: { value: override },
    expand: { value: (items: unknown) => partialTask(spec, undefined).expand(items as never) },
    partial: { value: partial },
    expandKwargs: { value: (items: unknown) => partialTask(spec, undefined).expandKwargs(items as never) },
  });
  return factory as unknown as TaskFactory<Args, R>;
}

/** The mapped calls of a TaskFlow task; `fixed` is its partial() keyword arguments. */
function partialTask(spec: FactorySpec, fixed: unknown): PartialTask<never, unknown> {
  const what = `the factory returned by task("${spec.taskId}", ...)`;
  const fixedArgs = () => {
    if (fixed === undefined) return [];
    if (!isPlainObject(fixed))
      throw definitionError(
        { dagId: peekBuilder()?.dagId, taskId: spec.taskId },
        `partial() takes an object of keyword arguments for a function taking one object, got ${describe(fixed)}: write partial({ y: 10 }).expand({ x: [1, 2] })`,
      );
    return [fixed];
  };
  return {
    expand: (items) => {
      const builder = currentBuilder(what, spec.taskId);
      const keywords = isPlainObject(items);
      if (!keywords && fixed !== undefined)
        throw definitionError(
          builder.where(spec.taskId),
          `after partial(), expand() takes an object of lists by keyword, got ${describe(items)}: write partial({ y: 10 }).expand({ x: [1, 2] })`,
        );
      return invoke(spec, keywords ? fixedArgs() : [], {
        mode: keywords ? "dict" : "list",
        items,
      }) as XComArg<unknown[]>;
    },
    expandKwargs: (items) => invoke(spec, fixedArgs(), { mode: "kwargs", items }) as XComArg<unknown[]>,
  };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return (
    value !== null &&
    typeof value === "object" &&
    !Array.isArray(value) &&
    !(value instanceof TaskHandle) &&
    Object.getPrototypeOf(value) === Object.prototype
  );
}

/** What a mapped call maps over, as given. */
export interface Mapping {
  mode: "list" | "dict" | "kwargs";
  items: unknown;
}

/**
 * A mapped task's sources as JSON, each a list written in the DAG file or a task output; `onXCom`
 * receives every task output found (they become upstream tasks).
 */
function mapSourcesToJson(
  mapping: Mapping,
  fixed: unknown[],
  where: Where,
  onXCom: (x: XComArg) => void,
): NonNullable<TaskNode["expand"]> {
  const source = (items: unknown, name: string): JsonValue => {
    if (items instanceof XComArg) {
      onXCom(items);
      return { __xcom__: { taskId: items.taskId, key: items.xcomKey } };
    }
    if (!Array.isArray(items))
      throw definitionError(
        where,
        `${name} must be a list or the output of a task returning a list, got ${describe(items)}`,
      );
    if (mapping.mode === "kwargs") {
      const bad = items.findIndex((item) => !isPlainObject(item) && !(item instanceof XComArg));
      if (bad >= 0)
        throw definitionError(
          where,
          `expandKwargs() takes a list of objects; element ${bad} is ${describe(items[bad])}`,
        );
    }
    return toJson(items, onXCom, (path, problem) => {
      throw definitionError(where, `${name}${path} ${problem}: mapped lists are stored as JSON`);
    });
  };
  if (mapping.mode !== "dict")
    return {
      mode: mapping.mode,
      value: source(mapping.items, mapping.mode === "list" ? "expand()'s items" : "expandKwargs()'s items"),
    };
  const entries = Object.entries(mapping.items as Record<string, unknown>);
  if (entries.length === 0)
    throw definitionError(where, "expand() was given no keyword to map over: write expand({ x: [1, 2, 3] })");
  const given = fixed[0] as Record<string, unknown> | undefined;
  const twice = entries.find(([name]) => given && name in given);
  if (twice)
    throw definitionError(
      where,
      `"${twice[0]}" is given both to partial() and to expand(): give each keyword argument once`,
    );
  return {
    mode: "dict",
    value: Object.fromEntries(entries.map(([name, items]) => [name, source(items, `expand()'s "${name}"`)])),
  };
}

function invoke(spec: FactorySpec, args: unknown[], mapping?: Mapping): XComArg {
  const builder = currentBuilder(`the factory returned by task("${spec.taskId}", ...)`, spec.taskId);
  const taskId = builder.taskFlowId(builder.qualify(spec.taskId), spec.origin);
  const where = builder.where(taskId);
  const options = mergeOptions(builder, spec.options);
  const resolved = resolveTaskOptions(options, where);
  // Trailing undefined arguments are omitted optional parameters, not values to store.
  let count = args.length;
  while (count > 0 && args[count - 1] === undefined) count--;
  const inputs: XComArg[] = [];
  const json = args.slice(0, count).map((arg, i) => argToJson(arg, where, i, (x) => inputs.push(x)));
  const expand = mapping && mapSourcesToJson(mapping, args, where, (x) => inputs.push(x));
  builder.add({
    taskId,
    kind: spec.kind,
    fn: spec.fn,
    rawArgs: Object.freeze(args.slice(0, count)),
    args: json,
    templateFields: spec.settings,
    options,
    resolved,
    upstream: new Set(),
    origin: spec.origin,
    multipleOutputs: spec.multipleOutputs,
    isolation: spec.isolation,
    ...(spec.resume ? { resume: spec.resume } : {}),
    ...(expand ? { expand } : {}),
  });
  const output = new XComArg(builder, taskId);
  for (const input of inputs) connect(input, output);
  return output;
}

/** Options of bash(): the command and its environment, plus any task option. */
export interface BashOptions extends TaskOptions {
  /** The command, run by bash; a template ({{ ds }}, {{ params.x }}, {{ macros.ds_add(ds, 7) }}, ...). */
  command: string;
  /** Extra environment variables (values are templates too). */
  env?: Record<string, string>;
  /** Working directory (a template). Default: a temporary directory. */
  cwd?: string;
  /** Push the last line the command writes as the task's XCom (Airflow's do_xcom_push). Default true. */
  doXcomPush?: boolean;
}

const BASH_KEYS = ["command", "env", "cwd", "doXcomPush", ...TASK_OPTION_KEYS];

/**
 * Adds a task that runs a bash command. Exit code 0 is success, 99 is skipped, anything else
 * failed (Airflow's BashOperator). The command, env and cwd are templates rendered at run time.
 */
export function bash(taskId: string, options: BashOptions): TaskHandle {
  return addBash(taskId, options, undefined);
}

/** bash()'s options that partial() fixes: the command may be left to expand(). */
export type BashPartialOptions = Omit<BashOptions, "command"> & { command?: string };
/** bash()'s fields that can be mapped over. */
export interface BashMappedFields {
  command?: string;
  env?: Record<string, string>;
  cwd?: string;
}

/**
 * A bash task with some options fixed (Airflow's BashOperator.partial()), to map with expand({ command:
 * [...] }) (the cross product of the lists given) or expandKwargs([{ command, env }, ...]).
 */
bash.partial = function partial(
  taskId: string,
  options: BashPartialOptions = {},
): {
  expand(mapped: { [K in keyof BashMappedFields]?: MapInput<BashMappedFields[K]> }): TaskHandle;
  expandKwargs(items: readonly BashMappedFields[] | XComArg<readonly BashMappedFields[]>): TaskHandle;
} {
  return {
    expand: (mapped) => addBash(taskId, options, { mode: "dict", items: mapped }),
    expandKwargs: (items) => addBash(taskId, options, { mode: "kwargs", items }),
  };
};

/** Whether `doXcomPush: false` was given (reported unless a boolean). */
function noXcomPush(value: unknown, where: Where): boolean {
  if (value === undefined || value === true) return false;
  if (value !== false)
    report(definitionError(where, `doXcomPush must be true or false, got ${describe(value)}`));
  return value === false;
}

function addBash(taskId: string, options: BashPartialOptions, mapping: Mapping | undefined): TaskHandle {
  const builder = currentBuilder(`bash("${taskId}")`, taskId);
  const where = builder.where(taskId);
  checkTaskId(taskId, { dagId: builder.dagId });
  const known = knownEntries(options, BASH_KEYS, "bash() options", where) as BashPartialOptions;
  const { command, env, cwd, doXcomPush, ...rest } = known;
  const templateFields: Record<string, JsonValue> = {};
  if (noXcomPush(doXcomPush, where)) templateFields.doXcomPush = false;
  // bash_command was reported as Airflow's spelling of command: no second problem for the same line.
  const misspelled = Object.keys(options).some((k) => k !== "command" && airflowTarget(k) === "command");
  if ((command !== undefined || !mapping) && !misspelled) {
    if (typeof command !== "string" || command.trim() === "") {
      report(
        definitionError(
          where,
          `bash() needs a command, got ${describe(command)}: write bash("${taskId}", { command: "echo hello" })`,
        ),
      );
    } else templateFields.command = command;
  }
  if (env !== undefined) {
    const checked = soft(() => checkEnv(env, where), undefined);
    if (checked) templateFields.env = checked;
  }
  if (cwd !== undefined) {
    if (typeof cwd !== "string" || cwd.trim() === "") {
      report(
        definitionError(where, `cwd must be a non-empty path, got ${describe(cwd)}: write e.g. cwd: "/tmp"`),
      );
    } else templateFields.cwd = cwd;
  }
  if (!mapping) return addOperator(builder, "bash", taskId, rest, templateFields);
  const mapped = {
    kind: "bash",
    example: 'expand({ command: ["echo 1", "echo 2"] })',
    required: { field: "command", what: "a command" },
  };
  return expandOperator(builder, where, mapped, mapping, templateFields, () =>
    addOperator(builder, "bash", taskId, rest, templateFields),
  );
}

/** What expandOperator needs to know of an operator kind. */
export interface MappedOperator {
  kind: string;
  /** An expand() call for its error messages. */
  example: string;
  /** The field it cannot run without (given to partial() or mapped), and its name in a message. */
  required: { field: string; what: string } | null;
}

/**
 * An operator task mapped over its fields (Airflow's Operator.partial(...).expand(...)): the fields
 * `partial()` fixed are `fixed`, `mapping` the lists (or a task output) to map over; `add` adds the
 * task once the mapping is checked. Shared by bash, http and sql.
 */
export function expandOperator(
  builder: DagBuilder,
  where: Where,
  operator: MappedOperator,
  mapping: Mapping,
  fixed: Record<string, JsonValue>,
  add: () => TaskHandle,
): TaskHandle {
  const { kind, example, required } = operator;
  if (mapping.mode === "dict") {
    if (!isPlainObject(mapping.items))
      throw definitionError(
        where,
        `${kind}.partial().expand() takes an object of lists by field, got ${describe(mapping.items)}: write ${example}`,
      );
    const unknown = Object.keys(mapping.items).find((k) => !mappableFields(kind).includes(k));
    if (unknown)
      throw definitionError(
        where,
        `${kind} tasks cannot be mapped over "${unknown}": map over ${mappableFields(kind).join(", ")}`,
      );
  }
  const inputs: XComArg[] = [];
  const expand = mapSourcesToJson(mapping, [fixed], where, (x) => inputs.push(x));
  if (
    required &&
    !(required.field in fixed) &&
    !(mapping.mode === "dict" && required.field in (mapping.items as object)) &&
    mapping.mode !== "kwargs"
  )
    throw definitionError(
      where,
      `${kind}() needs ${required.what}: give it to partial() or map over it, e.g. ${example}`,
    );
  const mappedGroup = builder.mappedGroup();
  if (mappedGroup)
    throw definitionError(
      where,
      `the task is mapped inside the mapped task group "${mappedGroup.groupId}": its tasks already map over the group's list; add it with ${kind}() (mapping inside a mapped group is not supported)`,
    );
  const handle = add();
  builder.nodes.get(handle.taskId)!.expand = expand;
  for (const input of inputs) connect(input, handle);
  return handle;
}

function checkEnv(env: unknown, where: Where): Record<string, string> {
  if (
    env === null ||
    typeof env !== "object" ||
    Array.isArray(env) ||
    Object.getPrototypeOf(env) !== Object.prototype
  ) {
    throw definitionError(where, `env must be an object of NAME: "value" strings, got ${describe(env)}`);
  }
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw definitionError(
        where,
        `env has the variable name ${JSON.stringify(name)}: use letters, digits and underscores, not starting with a digit`,
      );
    }
    if (typeof value !== "string") {
      throw definitionError(
        where,
        `env.${name} must be a string, got ${describe(value)}: write e.g. ${name}: "${String(value)}"`,
      );
    }
    out[name] = value;
  }
  return out;
}

/**
 * Adds Airflow's LatestOnlyOperator: in a run triggered by hand, or in the latest scheduled run (now
 * lies in the interval after the run's), the tasks after it run; in any other run (catching up, a
 * backfill) the tasks directly after it are skipped, and what follows them by their trigger rules.
 */
export function latestOnly(taskId: string, options: TaskOptions = {}): TaskHandle {
  const builder = currentBuilder(`latestOnly("${taskId}")`, taskId);
  checkTaskId(taskId, { dagId: builder.dagId });
  return addOperator(builder, "latest_only", taskId, options, {});
}

/** Adds a task that does nothing (Airflow's EmptyOperator): a start, an end, or a join point. */
export function empty(taskId: string, options: TaskOptions = {}): TaskHandle {
  const builder = currentBuilder(`empty("${taskId}")`, taskId);
  checkTaskId(taskId, { dagId: builder.dagId });
  return addOperator(builder, "empty", taskId, options, {});
}

/** Adds a task of a kind other than TaskFlow (ready-made operators and sensors use it too). */
export function addOperator(
  builder: DagBuilder,
  kind: TaskKind,
  label: string,
  own: TaskOptions,
  templateFields: Record<string, JsonValue>,
): TaskHandle {
  const taskId = builder.qualify(label);
  const where = builder.where(taskId);
  const checked = checkRole(checkTaskOptions(own, where), where);
  const options = mergeOptions(builder, checked);
  builder.add({
    taskId,
    kind,
    fn: undefined,
    rawArgs: [],
    args: [],
    templateFields,
    options,
    resolved: resolveTaskOptions(options, where),
    upstream: new Set(),
    origin: undefined,
  });
  return new TaskHandle(builder, taskId);
}

/** defaultArgs (the task group's, if any), overridden by the task's own options (unset = undefined = not given). */
function mergeOptions(builder: DagBuilder, own: TaskOptions): TaskOptions {
  const inherited = definedEntries(builder.currentGroup?.defaultArgs ?? builder.defaultArgs);
  // A teardown's trigger rule is its own (checkRole), never the DAG's default one.
  if (own.teardown === true) delete inherited.triggerRule;
  return { ...inherited, ...definedEntries(own) };
}

function checkTaskId(taskId: unknown, where: Where): asserts taskId is string {
  const problem = idProblem(taskId);
  if (problem) {
    const at = typeof taskId === "string" && taskId !== "" ? { ...where, taskId } : where;
    throw definitionError(at, `the task id ${problem}`);
  }
}

/** task()'s own options apart from the options every task kind takes. */
function splitFunctionOptions(
  all: TaskFunctionOptions,
  where: Where,
): {
  multipleOutputs: boolean;
  isolation: "dag" | "process";
  resume?: (...args: never[]) => unknown;
  options: TaskOptions;
} {
  if (all === null || typeof all !== "object")
    return { multipleOutputs: false, isolation: "dag", options: all };
  const { multipleOutputs, isolation, resume, ...options } = all;
  const fail = (message: string) => report(definitionError(where, message));
  if (multipleOutputs !== undefined && typeof multipleOutputs !== "boolean")
    fail(`multipleOutputs must be true or false, got ${describe(multipleOutputs)}`);
  const isolationOk = isolation === undefined || isolation === "dag" || isolation === "process";
  if (!isolationOk) fail(`isolation must be "dag" or "process", got ${describe(isolation)}`);
  if (resume !== undefined && typeof resume !== "function")
    fail(`resume must be a function (event, ...args) => result, got ${describe(resume)}`);
  return {
    multipleOutputs: multipleOutputs === true,
    isolation: isolationOk ? (isolation ?? "dag") : "dag",
    ...(typeof resume === "function" ? { resume } : {}),
    options,
  };
}

/** What only task() takes, beside the options of every task kind. */
const FUNCTION_KEYS = ["multipleOutputs", "isolation", "resume"];
