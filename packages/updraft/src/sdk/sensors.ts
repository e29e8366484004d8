/**
 * Sensors (Airflow's BaseSensorOperator): a task that waits for something by checking it now and then.
 * `check` runs in the task's process (a TaskFlow worker); the task runner decides what a "not yet"
 * means: wait in the slot and check again (mode "poke"), give the slot back until the next check
 * (mode "reschedule": the task instance is up_for_reschedule meanwhile), or hand the wait to the
 * triggerer (`deferrable: true`: deferred). A check past `timeout` fails the task (skips it with
 * `softFail`) without retries, as Airflow's AirflowSensorTimeout.
 */
import { parseDuration, type DurationInput } from "../core/duration.ts";
import type { SensorSettings } from "../core/serialized.ts";
import { currentBuilder } from "./builder.ts";
import type { TaskContext } from "./context.ts";
import { getCurrentContext } from "./control.ts";
import { definitionError, describe, type Where } from "./fail.ts";
import { XComArg } from "./handles.ts";
import type { JsonValue } from "./json.ts";
import { knownEntries, TASK_OPTION_KEYS, type TaskOptions } from "./options.ts";
import { report } from "./problems.ts";
import { addOperator } from "./tasks.ts";
import type { Trigger } from "./triggers.ts";

/** What a check answers: done or not; with a value to push as the sensor's XCom (return_value). */
export type PokeReturn<V = unknown> = boolean | { done: boolean; value?: V };

/** The options of every sensor (Airflow's BaseSensorOperator's, camelCased) and of every task. */
export interface SensorOptions extends TaskOptions {
  /** Time between checks: "30s", "250ms" or seconds. Default "60s". */
  pokeInterval?: DurationInput;
  /** How long the sensor may wait in all, from its first check. Default "7d". */
  timeout?: DurationInput;
  /**
   * "poke" (default): waits in its worker slot between checks. "reschedule": gives its slot (and pool
   * slot) back between checks; the task instance is up_for_reschedule meanwhile, with the same try.
   */
  mode?: "poke" | "reschedule";
  /** At the timeout, end as skipped instead of failed. Default false. */
  softFail?: boolean;
  /** Double the time between checks each time (with a little jitter), up to maxWait. Default false. */
  exponentialBackoff?: boolean;
  /** The longest time between checks when backing off. Default: none. */
  maxWait?: DurationInput | null;
  /** Wait through the triggerer (deferred, no slot held) instead of a worker. Default false. */
  deferrable?: boolean;
}

export const SENSOR_OPTION_KEYS = [
  "pokeInterval",
  "timeout",
  "mode",
  "softFail",
  "exponentialBackoff",
  "maxWait",
  "deferrable",
] as const;

/** What a check sends back to its runner: JSON (see PokeResult in the runner). */
export interface PokeAnswer {
  done: boolean;
  value?: JsonValue;
  /** What a deferrable ready-made sensor waits on until its next check. */
  trigger?: { classpath: string; kwargs: Record<string, JsonValue> };
}

/**
 * Adds a sensor: `check(context)` answers whether what it waits for is there (`true`), or not yet
 * (`false`); `{ done: true, value }` also pushes `value` as the sensor's output.
 *
 * @example
 * ```ts
 * sensor("wait_for_flag", async () => existsSync("/data/ready.flag"), {
 *   pokeInterval: "30s", timeout: "2h", mode: "reschedule",
 * });
 * ```
 */
export function sensor<V = unknown>(
  taskId: string,
  check: (context: TaskContext) => PokeReturn<V> | Promise<PokeReturn<V>>,
  options: SensorOptions = {},
): XComArg<V> {
  if (typeof check !== "function") {
    const builder = currentBuilder(`sensor("${taskId}")`, taskId);
    throw definitionError(
      builder.where(taskId),
      `sensor() takes its check function as its second argument, got ${describe(check)}: write sensor("${taskId}", async () => true)`,
    );
  }
  return addSensor<V>({
    taskId,
    label: "sensor",
    check: (context) => check(context as TaskContext),
    options,
    templateFields: {},
  });
}

/** How a ready-made sensor (or sensor()) is added: its check, its templated fields, its trigger. */
export interface SensorDefinition {
  taskId: string;
  /** What the definition is called in messages: "sensor", "fileSensor", ... */
  label: string;
  /** The check: the context and the task's rendered template fields. */
  check: (context: unknown, fields: Record<string, unknown>) => PokeReturn | Promise<PokeReturn>;
  /** The sensor options and task options as the user wrote them (other keys already removed). */
  options: SensorOptions;
  templateFields: Record<string, JsonValue>;
  /**
   * What a deferrable sensor waits on between checks, from its rendered fields (run in the task's
   * process); without it, a deferrable sensor waits the poke interval on a time trigger.
   */
  trigger?: (fields: Record<string, unknown>, settings: SensorSettings) => Trigger;
  /** The task kind (default "sensor"): ready-made sensors that need the runner's help name their own. */
  kind?: "sensor";
}

/** Adds a sensor task to the DAG being built; ready-made sensors call this. */
export function addSensor<V = unknown>(d: SensorDefinition): XComArg<V> {
  const builder = currentBuilder(`${d.label}("${d.taskId}")`, d.taskId);
  const where = builder.where(d.taskId);
  const known = knownEntries(
    d.options,
    [...TASK_OPTION_KEYS, ...SENSOR_OPTION_KEYS],
    `${d.label}() options`,
    where,
  );
  const own: Record<string, unknown> = { ...known };
  for (const key of SENSOR_OPTION_KEYS) delete own[key];
  const settings = sensorSettings(d.options, where);
  const handle = addOperator(builder, d.kind ?? "sensor", d.taskId, own as TaskOptions, d.templateFields);
  const node = builder.nodes.get(handle.taskId)!;
  node.sensor = settings;
  // Runs in the task's process: the answer travels to the runner as JSON.
  node.fn = (async (fields: Record<string, unknown> = {}) => {
    const raw = await d.check(getCurrentContext(), fields);
    const answer = pokeAnswer(raw, d.label);
    if (!answer.done && settings.deferrable && d.trigger)
      answer.trigger = d.trigger(fields, settings).serialize();
    return answer;
  }) as never;
  return new XComArg<V>(builder, handle.taskId);
}

function pokeAnswer(raw: unknown, label: string): PokeAnswer {
  if (typeof raw === "boolean") return { done: raw };
  if (raw && typeof raw === "object" && typeof (raw as { done?: unknown }).done === "boolean") {
    const { done, value } = raw as { done: boolean; value?: unknown };
    return value === undefined ? { done } : { done, value: value as JsonValue };
  }
  throw new TypeError(`a ${label}'s check must return true, false or { done, value }, got ${describe(raw)}`);
}

/** Airflow's defaults: a check a minute, a week in all. */
const DEFAULT_POKE_INTERVAL = 60;
const DEFAULT_TIMEOUT = 7 * 86_400;

function sensorSettings(o: SensorOptions, where: Where): SensorSettings {
  const duration = (name: keyof SensorOptions, fallback: number | null): number | null => {
    const value = o[name] as DurationInput | null | undefined;
    if (value === undefined || value === null) return fallback;
    try {
      return parseDuration(value);
    } catch (error) {
      report(definitionError(where, `${name}: ${(error as Error).message}`));
      return fallback;
    }
  };
  const flag = (name: "softFail" | "exponentialBackoff" | "deferrable") => {
    const value = o[name];
    if (value !== undefined && typeof value !== "boolean")
      report(definitionError(where, `${name} must be true or false, got ${describe(value)}`));
    return value === true;
  };
  const mode = o.mode ?? "poke";
  if (mode !== "poke" && mode !== "reschedule")
    report(definitionError(where, `mode must be "poke" or "reschedule", got ${describe(o.mode)}`));
  const pokeInterval = duration("pokeInterval", DEFAULT_POKE_INTERVAL)!;
  if (pokeInterval <= 0)
    report(definitionError(where, `pokeInterval must be more than 0, got ${pokeInterval}`));
  return {
    mode: mode === "reschedule" ? "reschedule" : "poke",
    pokeInterval: pokeInterval > 0 ? pokeInterval : DEFAULT_POKE_INTERVAL,
    timeout: duration("timeout", DEFAULT_TIMEOUT)!,
    softFail: flag("softFail"),
    exponentialBackoff: flag("exponentialBackoff"),
    maxWait: duration("maxWait", null),
    deferrable: flag("deferrable"),
  };
}
