/**
 * Task options as users write them (Airflow's operator arguments, camelCased) and their checked,
 * normalised form. Options left unset stay undefined here so configuration defaults can fill them
 * in at serialize time; the SDK never reads configuration itself.
 */
import type { Outlet } from "../core/assets.ts";
import { outletsOf, type Asset, type AssetAlias } from "./assets.ts";
import { parseDuration, parseMemorySize, type DurationInput } from "../core/duration.ts";
import { isUserName } from "../core/serialized.ts";
import {
  normalizeTriggerRule,
  TRIGGER_RULE_ALIASES,
  TRIGGER_RULES,
  WEIGHT_RULES,
  type TriggerRule,
  type WeightRule,
} from "../core/trigger-rules.ts";
import { airflowHint, airflowTarget, dateHint, durationHint, scheduleHint } from "./airflow-names.ts";
import type { CallbackInput } from "./callback-types.ts";
import { callbackList, TASK_CALLBACK_OPTIONS, type TaskCallbackOption } from "./callbacks.ts";
import { definitionError, describe, type Where } from "./fail.ts";
import { report, soft } from "./problems.ts";

/** A trigger rule name, including Airflow 2's deprecated aliases ("dummy", "none_failed_or_skipped"). */
export type TriggerRuleInput = TriggerRule | "dummy" | "none_failed_or_skipped";

/** Options every task kind takes; also the shape of a DAG's `defaultArgs`. */
export interface TaskOptions {
  /** Tries after the first one fails. Default: configuration (`core.default_task_retries`, 0). */
  retries?: number;
  /** Wait between tries: "30s", "5m", "1h30m" or seconds. Default: configuration (300 s). */
  retryDelay?: DurationInput;
  /** Double the delay on each retry (with jitter), capped by maxRetryDelay. Default false. */
  retryExponentialBackoff?: boolean;
  /** Upper bound of the retry delay when backing off. Default: none. */
  maxRetryDelay?: DurationInput | null;
  /** A try running longer than this fails (then retries apply). Default: none. */
  executionTimeout?: DurationInput | null;
  /** When the task runs, given its upstream states. Default "all_success". */
  triggerRule?: TriggerRuleInput;
  /** Run only if this task's instance in the previous run succeeded or was skipped. Default false. */
  dependsOnPast?: boolean;
  /** Also wait for the previous run's direct downstream tasks of this task; implies dependsOnPast. */
  waitForDownstream?: boolean;
  /** Pool whose slots the task occupies while it runs. Default: configuration ("default_pool"). */
  pool?: string;
  /** Slots of the pool the task occupies. Default 1. */
  poolSlots?: number;
  /** Scheduling priority, combined along the graph according to weightRule. Default 1. */
  priorityWeight?: number;
  /** "downstream" (default), "upstream" or "absolute", as in Airflow. */
  weightRule?: WeightRule;
  /** Queue of the executor that runs the task. Default: configuration ("default"). */
  queue?: string;
  /** Owner shown in the UI. Default: the DAG's owner, else configuration ("updraft"). */
  owner?: string;
  /** Markdown documentation shown in the UI. */
  docMd?: string;
  /** Memory limit of the task's process: "512MiB", "1GiB" or a number of MiB. Default: configuration. */
  memoryLimit?: string | number | null;
  /** Operating-system user the task runs as (Airflow's run_as_user). Default: `[core] default_impersonation`. */
  runAsUser?: string | null;
  /** A setup task (Airflow's @setup): creates what work tasks use; its teardown runs when it succeeded. Per task. */
  setup?: boolean;
  /**
   * A teardown task (Airflow's @teardown): runs once its upstream are done when at least one of its
   * setups succeeded, whatever happened to the work between; its own state does not count for the
   * run's. Its trigger rule is all_done_setup_success. Per task.
   */
  teardown?: boolean;
  /** A teardown whose failure fails the run (Airflow's on_failure_fail_dagrun). Default false. */
  onFailureFailDagrun?: boolean;
  /**
   * A mapped task's label for each of its instances (Airflow's map_index_template), a template
   * rendered when the try ends, e.g. "{{ file }}" for `expand({ file: [...] })`: each mapped keyword
   * is in the context by its name (and the element of `expand(items)` as `item`).
   */
  mapIndexTemplate?: string;
  /**
   * Called right before the task's work starts (Airflow's on_execute_callback). Each callback option
   * takes a function of the context (sync or async), a notifier (`{ notify(context) }`), or a list
   * of them; they run in the DAG's TaskFlow worker, never in the scheduler, each within
   * `[core] callback_timeout`; a callback's failure is logged in the try's log and never changes the
   * task's state. Inherited from defaultArgs like other options.
   * @example onExecute: (ctx) => console.log(`starting try ${ctx.ti?.try_number}`)
   */
  onExecute?: CallbackInput;
  /** Called once the task succeeded (recorded). @example onSuccess: (ctx) => console.log("done", ctx.run_id) */
  onSuccess?: CallbackInput;
  /**
   * Called once the task failed for good (no retry left, or failNow); `context.exception` holds the
   * error. @example onFailure: (ctx) => console.error(`${ctx.ti?.task_id} failed: ${ctx.exception?.message}`)
   */
  onFailure?: CallbackInput;
  /** Called when a try failed and the task will retry; `context.exception` holds the error. */
  onRetry?: CallbackInput;
  /** Called when the task skipped itself (threw SkipTask, a bash task exited 99, a soft-failed sensor). */
  onSkipped?: CallbackInput;
  /** Addresses the failure and retry alerts go to (Airflow's email): a list, or one string. */
  email?: string | readonly string[];
  /** Email `email` when the task fails (Airflow's email_on_failure). Default true when email is set. */
  emailOnFailure?: boolean;
  /** Email `email` when a try fails and the task will retry (Airflow's email_on_retry). Default true. */
  emailOnRetry?: boolean;
  /**
   * Assets the task updates (Airflow's outlets): when a try succeeds, an asset event for each (with
   * the extra `outletEvents(asset).extra` gave it), which starts the DAGs scheduled on them. An alias
   * records events for the assets the task adds to it (`outletEvents(alias).add(asset)`).
   */
  outlets?: readonly (Asset | AssetAlias)[];
}

export const TASK_OPTION_KEYS = [
  "retries",
  "retryDelay",
  "retryExponentialBackoff",
  "maxRetryDelay",
  "executionTimeout",
  "triggerRule",
  "dependsOnPast",
  "waitForDownstream",
  "pool",
  "poolSlots",
  "priorityWeight",
  "weightRule",
  "queue",
  "owner",
  "docMd",
  "memoryLimit",
  "runAsUser",
  "setup",
  "teardown",
  "onFailureFailDagrun",
  "mapIndexTemplate",
  ...TASK_CALLBACK_OPTIONS,
  "email",
  "emailOnFailure",
  "emailOnRetry",
  "outlets",
] as const satisfies readonly (keyof TaskOptions)[];

/** Near misses the edit distance would send elsewhere ("retry" is closer to onRetry than to retries). */
const TASK_OPTION_HINTS: Record<string, string> = { retry: "retries" };

/** Options that say what one task is: never inherited from defaultArgs. */
const ROLE_KEYS = ["setup", "teardown", "onFailureFailDagrun"] as const;

/** Checked options; undefined means "use the configured default". Durations in seconds, memory in MiB. */
export interface ResolvedTaskOptions {
  retries: number | undefined;
  retryDelay: number | undefined;
  retryExponentialBackoff: boolean;
  maxRetryDelay: number | null;
  executionTimeout: number | null;
  triggerRule: TriggerRule;
  dependsOnPast: boolean;
  waitForDownstream: boolean;
  pool: string | undefined;
  poolSlots: number;
  priorityWeight: number;
  weightRule: WeightRule;
  queue: string | undefined;
  owner: string | undefined;
  docMd: string | null;
  memoryLimit: number | null;
  runAsUser: string | null;
  isSetup: boolean;
  isTeardown: boolean;
  onFailureFailDagrun: boolean;
  mapIndexTemplate: string | null;
  /** How many callbacks the task has for each event that has any. */
  callbacks: Partial<Record<TaskCallbackOption, number>>;
  /** Alert addresses ([] when none). */
  email: string[];
  emailOnFailure: boolean;
  emailOnRetry: boolean;
  outlets: Outlet[];
}

/**
 * Throws if `value` is not a plain object; reports each key outside `allowed` (see problems.ts),
 * with Airflow's spelling explained or the nearest valid name.
 */
export function assertKnownKeys(
  value: unknown,
  allowed: readonly string[],
  what: string,
  where: Where,
  hints: Record<string, string> = {},
): asserts value is Record<string, unknown> {
  knownEntries(value, allowed, what, where, hints);
}

/** The entries of `value` whose keys are in `allowed`, after reporting the others (assertKnownKeys). */
export function knownEntries(
  value: unknown,
  allowed: readonly string[],
  what: string,
  where: Where,
  hints: Record<string, string> = {},
): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw definitionError(where, `${what} must be an object, got ${describe(value)}`);
  }
  const known: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (allowed.includes(key)) known[key] = v;
    else {
      const hint = unknownHint(key, allowed, hints);
      const value = valueHint(key, v);
      report(
        definitionError(where, `${what} has an unknown option "${key}": ${hint}${value ? `; ${value}` : ""}`),
      );
    }
  }
  return known;
}

/** For `retry_delay: timedelta(minutes=5)`: how to write the value too, once the name is right. */
function valueHint(key: string, value: unknown): string | undefined {
  const target = airflowTarget(key);
  if (target === "schedule") return scheduleHint(value);
  if (target === "startDate" || target === "endDate") return dateHint(value);
  if (target && /Delay$|Timeout$/.test(target)) return durationHint(value);
  return undefined;
}

function unknownHint(key: string, allowed: readonly string[], hints: Record<string, string>): string {
  const airflow = airflowHint(key, allowed);
  if (airflow) return airflow;
  const hint = hints[key] ?? nearest(key, allowed);
  return `${hint ? `did you mean "${hint}"? Valid` : "valid"} options: ${allowed.join(", ")}`;
}

/** The closest known name (case-insensitive, ignoring underscores), if one is close enough to suggest. */
function nearest(key: string, allowed: readonly string[]): string | undefined {
  const squash = (s: string) => s.toLowerCase().replace(/_/g, "");
  const exact = allowed.find((a) => squash(a) === squash(key));
  if (exact) return exact;
  let best: string | undefined;
  let bestDistance = 4;
  for (const candidate of allowed) {
    const d = editDistance(squash(key), squash(candidate));
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next.push(Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    }
    row = next;
  }
  return row[b.length]!;
}

/** Drops keys whose value is undefined, so `{ retries: undefined }` means "not set". */
export function definedEntries<T extends object>(value: T | undefined): Partial<T> {
  if (!value) return {};
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

type TaskOptionKey = (typeof TASK_OPTION_KEYS)[number];

/** Each option's check; a check throws a DagDefinitionError naming the option and the fix. */
const TASK_OPTION_CHECKS: Record<TaskOptionKey, (value: unknown, where: Where) => unknown> = {
  retries: (v, w) => integer(v, "retries", w, 0, "retries: 3"),
  retryDelay: (v, w) => duration(v, "retryDelay", w, false),
  retryExponentialBackoff: (v, w) => bool(v, "retryExponentialBackoff", w, false),
  maxRetryDelay: (v, w) => duration(v, "maxRetryDelay", w, false),
  executionTimeout: (v, w) => duration(v, "executionTimeout", w, true),
  triggerRule: (v, w) => triggerRule(v, w),
  dependsOnPast: (v, w) => bool(v, "dependsOnPast", w, false),
  waitForDownstream: (v, w) => bool(v, "waitForDownstream", w, false),
  pool: (v, w) => text(v, "pool", w, 'pool: "default_pool"'),
  poolSlots: (v, w) => integer(v, "poolSlots", w, 1, "poolSlots: 2"),
  priorityWeight: (v, w) => integer(v, "priorityWeight", w, undefined, "priorityWeight: 10"),
  weightRule: (v, w) => weightRule(v, w),
  queue: (v, w) => text(v, "queue", w, 'queue: "default"'),
  owner: (v, w) => text(v, "owner", w, 'owner: "data-team"'),
  docMd: (v, w) => docText(v, "docMd", w),
  memoryLimit: (v, w) => memory(v, w),
  runAsUser: (v, w) => userName(v, w),
  setup: (v, w) => bool(v, "setup", w, false),
  teardown: (v, w) => bool(v, "teardown", w, false),
  onFailureFailDagrun: (v, w) => bool(v, "onFailureFailDagrun", w, false),
  mapIndexTemplate: (v, w) => text(v, "mapIndexTemplate", w, 'mapIndexTemplate: "{{ file }}"'),
  onExecute: (v, w) => callbackList(v, w, "onExecute"),
  onSuccess: (v, w) => callbackList(v, w, "onSuccess"),
  onFailure: (v, w) => callbackList(v, w, "onFailure"),
  onRetry: (v, w) => callbackList(v, w, "onRetry"),
  onSkipped: (v, w) => callbackList(v, w, "onSkipped"),
  email: (v, w) => emailList(v, w),
  emailOnFailure: (v, w) => bool(v, "emailOnFailure", w, true),
  emailOnRetry: (v, w) => bool(v, "emailOnRetry", w, true),
  outlets: (v, w) => outletsOf(v, w),
};

/**
 * Checks task options, reporting every problem (problems.ts), and returns the options that passed:
 * what failed is left out, so options merged from these (defaultArgs into each task) are not
 * reported again for every task.
 */
export function checkTaskOptions(raw: unknown, where: Where, what = "options"): TaskOptions {
  const known = knownEntries(raw, TASK_OPTION_KEYS, what, { ...where, part: undefined }, TASK_OPTION_HINTS);
  const clean: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(definedEntries(known))) {
    const ok = soft(() => (TASK_OPTION_CHECKS[key as TaskOptionKey](value, where), true), false);
    if (ok) clean[key] = value;
  }
  const inDefaultArgs = what === "defaultArgs" || what === "default_args";
  const roleOk = soft(() => (taskRole(clean, where, inDefaultArgs), true), false);
  if (!roleOk) for (const key of ROLE_KEYS) delete clean[key];
  return clean as TaskOptions;
}

/** Checks and normalises task options (already merged with defaultArgs). */
export function resolveTaskOptions(raw: TaskOptions, where: Where, what = "options"): ResolvedTaskOptions {
  const o = checkTaskOptions(raw, where, what);
  const waitForDownstream = bool(o.waitForDownstream, "waitForDownstream", where, false);
  const role = taskRole(o, where, what === "defaultArgs");
  return {
    ...role,
    retries: integer(o.retries, "retries", where, 0, "retries: 3"),
    retryDelay: duration(o.retryDelay, "retryDelay", where, false) ?? undefined,
    retryExponentialBackoff: bool(o.retryExponentialBackoff, "retryExponentialBackoff", where, false),
    maxRetryDelay: duration(o.maxRetryDelay, "maxRetryDelay", where, false) ?? null,
    executionTimeout: duration(o.executionTimeout, "executionTimeout", where, true) ?? null,
    // A teardown's rule is always all_done_setup_success (an explicit other one is refused by checkRole).
    triggerRule: role.isTeardown ? "all_done_setup_success" : triggerRule(o.triggerRule, where),
    // Airflow: wait_for_downstream implies depends_on_past.
    dependsOnPast: bool(o.dependsOnPast, "dependsOnPast", where, false) || waitForDownstream,
    waitForDownstream,
    pool: text(o.pool, "pool", where, 'pool: "default_pool"'),
    poolSlots: integer(o.poolSlots, "poolSlots", where, 1, "poolSlots: 2") ?? 1,
    priorityWeight: integer(o.priorityWeight, "priorityWeight", where, undefined, "priorityWeight: 10") ?? 1,
    weightRule: weightRule(o.weightRule, where),
    queue: text(o.queue, "queue", where, 'queue: "default"'),
    owner: text(o.owner, "owner", where, 'owner: "data-team"'),
    docMd: docText(o.docMd, "docMd", where) ?? null,
    memoryLimit: memory(o.memoryLimit, where),
    runAsUser: userName(o.runAsUser, where),
    mapIndexTemplate:
      text(o.mapIndexTemplate, "mapIndexTemplate", where, 'mapIndexTemplate: "{{ file }}"') ?? null,
    callbacks: callbackCounts(o, where),
    email: emailList(o.email, where),
    // Airflow's default_email_on_failure and default_email_on_retry are both true.
    emailOnFailure: bool(o.emailOnFailure, "emailOnFailure", where, true),
    emailOnRetry: bool(o.emailOnRetry, "emailOnRetry", where, true),
    outlets: o.outlets === undefined ? [] : outletsOf(o.outlets, where),
  };
}

/** How many callbacks each event has (events without any left out). */
function callbackCounts(o: TaskOptions, where: Where): Partial<Record<TaskCallbackOption, number>> {
  const counts: Partial<Record<TaskCallbackOption, number>> = {};
  for (const option of TASK_CALLBACK_OPTIONS) {
    const n = callbackList(o[option], where, option).length;
    if (n > 0) counts[option] = n;
  }
  return counts;
}

/**
 * Alert addresses: a list, or one string (split on "," and ";" as Airflow's get_email_address_list
 * does). Each must look like an address.
 */
export function emailList(value: unknown, where: Where): string[] {
  if (value === undefined || value === null) return [];
  const items =
    typeof value === "string"
      ? value.split(/[,;]/)
      : Array.isArray(value) && value.every((v) => typeof v === "string")
        ? (value as string[])
        : undefined;
  const addresses = items?.map((a) => a.trim()).filter((a) => a !== "");
  const bad = addresses?.find((a) => !/^[^\s@]+@[^\s@]+$/.test(a));
  if (!addresses || bad !== undefined)
    throw definitionError(
      where,
      `email must be a list of addresses, got ${describe(bad ?? value)}: write e.g. email: ["ops@example.com"]`,
    );
  return addresses;
}

export function integer(
  value: unknown,
  name: string,
  where: Where,
  min: number | undefined,
  example: string,
): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || (min !== undefined && value < min)) {
    const need = min === undefined ? "a whole number" : `a whole number >= ${min}`;
    throw definitionError(where, `${name} must be ${need}, got ${describe(value)}: write e.g. ${example}`);
  }
  return value;
}

export function bool(value: unknown, name: string, where: Where, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") {
    throw definitionError(where, `${name} must be true or false, got ${describe(value)}`);
  }
  return value;
}

export function text(value: unknown, name: string, where: Where, example: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value.trim() === "") {
    throw definitionError(
      where,
      `${name} must be a non-empty string, got ${describe(value)}: write e.g. ${example}`,
    );
  }
  return value;
}

export function docText(value: unknown, name: string, where: Where): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string")
    throw definitionError(where, `${name} must be a string, got ${describe(value)}`);
  return value;
}

/** A duration in seconds; `null` stays null (= none). `positive` rejects 0. */
export function duration(
  value: unknown,
  name: string,
  where: Where,
  positive: boolean,
): number | null | undefined {
  if (value === undefined || value === null) return value;
  let seconds: number;
  try {
    if (typeof value !== "string" && typeof value !== "number") throw new RangeError("");
    seconds = parseDuration(value);
  } catch {
    const airflow = durationHint(value);
    throw definitionError(
      where,
      `${name} ${describe(value)} is not a duration: ${airflow ? `${airflow} (durations are` : "write e.g."} "30s", "5m", "1h30m", "1d" or a number of seconds${airflow ? ")" : ""}`,
    );
  }
  if (positive && seconds <= 0) {
    throw definitionError(where, `${name} must be longer than 0s, got ${describe(value)}: write e.g. "10m"`);
  }
  return seconds;
}

function triggerRule(value: unknown, where: Where): TriggerRule {
  if (value === undefined) return "all_success";
  const rule = typeof value === "string" ? normalizeTriggerRule(value) : undefined;
  if (!rule) {
    const aliases = Object.keys(TRIGGER_RULE_ALIASES).join(", ");
    throw definitionError(
      where,
      `triggerRule ${describe(value)} is not a trigger rule: use one of ${TRIGGER_RULES.join(", ")} (deprecated aliases: ${aliases})`,
    );
  }
  return rule;
}

function weightRule(value: unknown, where: Where): WeightRule {
  if (value === undefined) return "downstream";
  if (typeof value !== "string" || !(WEIGHT_RULES as readonly string[]).includes(value)) {
    throw definitionError(
      where,
      `weightRule ${describe(value)} is not a weight rule: use one of ${WEIGHT_RULES.join(", ")}`,
    );
  }
  return value as WeightRule;
}

function memory(value: unknown, where: Where): number | null {
  if (value === undefined || value === null) return null;
  try {
    if (typeof value !== "string" && typeof value !== "number") throw new RangeError("");
    return parseMemorySize(value);
  } catch {
    throw definitionError(
      where,
      `memoryLimit ${describe(value)} is not a memory size: write e.g. "512MiB", "1GiB" or a number of MiB greater than 0`,
    );
  }
}

/** An operating-system user name (checked against the machine only when the task runs). */
function userName(value: unknown, where: Where): string | null {
  if (value === undefined || value === null || value === "") return null;
  if (typeof value !== "string" || !isUserName(value))
    throw definitionError(
      where,
      `runAsUser ${describe(value)} is not a user name: write e.g. runAsUser: "etl"`,
    );
  return value;
}

function taskRole(o: Partial<TaskOptions>, where: Where, inDefaultArgs: boolean) {
  const given = ROLE_KEYS.filter((key) => o[key] !== undefined);
  if (inDefaultArgs && given.length > 0)
    throw definitionError(
      where,
      `defaultArgs has ${given.join(", ")}: what a task is (setup, teardown) is set on the task itself, not for every task`,
    );
  const isSetup = bool(o.setup, "setup", where, false);
  const isTeardown = bool(o.teardown, "teardown", where, false);
  const onFailureFailDagrun = bool(o.onFailureFailDagrun, "onFailureFailDagrun", where, false);
  if (isSetup && isTeardown)
    throw definitionError(where, "a task cannot be both a setup and a teardown: make it one or the other");
  if (onFailureFailDagrun && !isTeardown)
    throw definitionError(
      where,
      "onFailureFailDagrun is for teardowns (a teardown's failure does not fail the run unless it is set): add teardown: true or remove it",
    );
  return { isSetup, isTeardown, onFailureFailDagrun };
}

/**
 * A task's own options: a teardown takes no trigger rule of its own (it is all_done_setup_success,
 * Airflow's rule for teardowns); one inherited from defaultArgs is replaced. Returns the options
 * without a refused trigger rule once the problem is reported.
 */
export function checkRole(own: TaskOptions, where: Where): TaskOptions {
  if (own.teardown !== true || own.triggerRule === undefined) return own;
  if (normalizeTriggerRule(String(own.triggerRule)) === "all_done_setup_success") return own;
  report(
    definitionError(
      where,
      `a teardown's trigger rule is all_done_setup_success (it runs when its setups succeeded, whatever happened between), got triggerRule ${describe(own.triggerRule)}: remove triggerRule`,
    ),
  );
  const { triggerRule: _refused, ...rest } = own;
  return rest;
}
