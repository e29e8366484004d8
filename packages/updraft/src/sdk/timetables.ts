/**
 * Timetables for `dag({ schedule })`, named after Airflow 3's timetable classes. A timetable fixes
 * its own semantics; a plain cron string or `{ every }` takes the DAG's scheduleSemantics, else
 * configuration (`[scheduler] create_cron_data_intervals` / `create_delta_data_intervals`, both true
 * in Updraft: data intervals; Airflow 3's are false), which the DAG processor applies at serialize time.
 *
 * The factories only record what they were given; dag() checks it, so an error names the DAG.
 */
import { conditionOf, isAssetSchedule, type AssetExpression } from "./assets.ts";
import type { DurationInput } from "../core/duration.ts";
import { cronExpression, isValidTimezone, parseSchedule, type Schedule } from "../core/schedule.ts";
import type { ScheduleSemantics } from "../core/serialized.ts";
import { checkDate, type DateInput } from "./dates.ts";
import { scheduleHint } from "./airflow-names.ts";
import { definitionError, describe, type Where } from "./fail.ts";
import { assertKnownKeys, duration } from "./options.ts";

/** Marks timetable objects, across copies of the SDK too (as DAG_BRAND does for DAGs). */
export const TIMETABLE_BRAND: unique symbol = Symbol.for("updraft.timetable") as never;

/** Airflow's name of each timetable the SDK offers. */
export type TimetableName =
  | "CronTriggerTimetable"
  | "MultipleCronTriggerTimetable"
  | "CronDataIntervalTimetable"
  | "DeltaTriggerTimetable"
  | "DeltaDataIntervalTimetable"
  | "ContinuousTimetable";

/** What a timetable factory returns: pass it as `dag({ schedule })`. */
export interface Timetable {
  readonly [TIMETABLE_BRAND]: true;
  /** Airflow's class name, e.g. "CronTriggerTimetable". */
  readonly timetable: TimetableName;
  /** What the factory was given, checked by dag(). */
  readonly given: { readonly crons?: unknown; readonly every?: unknown; readonly options?: unknown };
}

/** Options of cronTriggerTimetable() and multipleCronTriggerTimetable(). */
export interface CronTriggerOptions {
  /**
   * IANA zone the crons are read in. It becomes the DAG's timezone: give it here or on the DAG,
   * or both the same. Default: the DAG's timezone.
   */
  timezone?: string;
  /**
   * How far back from its tick each run's data interval reaches: "1d", "4d9h", or seconds. The
   * run is created at the tick; its logical date is the interval's start (Airflow's). Default 0:
   * the interval is the tick itself.
   */
  interval?: DurationInput;
}

/** Options of cronDataIntervalTimetable(). */
export interface CronDataIntervalOptions {
  /** IANA zone the cron is read in; as in CronTriggerOptions. */
  timezone?: string;
}

/** Options of deltaDataIntervalTimetable(), and of `schedule: { every, anchor }`. */
export interface DeltaDataIntervalOptions {
  /**
   * A moment the steps are counted from, so runs fall at anchor + k * every (before the anchor
   * too) whenever the DAG is switched on, as a cron's do: "2025-01-01T03:00" (wall clock in the
   * DAG's timezone), an ISO time with an offset, or a Date. Without one, steps count from the last
   * run, else from startDate (catchup) or from now.
   */
  anchor?: DateInput;
}

/** Options of deltaTriggerTimetable(). */
export interface DeltaTriggerOptions extends DeltaDataIntervalOptions {
  /** How far back from its tick each run's data interval reaches, as in CronTriggerOptions. */
  interval?: DurationInput;
}

/** `schedule: { every: "30m" }`, optionally anchored (see DeltaDataIntervalOptions). */
export interface EveryInput extends DeltaDataIntervalOptions {
  every: DurationInput;
}

/** What `dag({ schedule })` takes. */
export type ScheduleInput = string | EveryInput | Timetable | AssetExpression | AssetExpression[] | null;

function timetable(name: TimetableName, given: Timetable["given"]): Timetable {
  return Object.freeze({ [TIMETABLE_BRAND]: true as const, timetable: name, given: Object.freeze(given) });
}

/**
 * Airflow's CronTriggerTimetable: a run at each tick of the cron, created at the tick, whose
 * logical date is the tick (or the start of `interval` before it). What a plain cron string
 * means by default.
 *
 * @example
 * // Every Friday at 18:00, each run covering the work week since Monday 09:00.
 * dag({ dagId: "weekly", schedule: cronTriggerTimetable("0 18 * * 5", { timezone: "Europe/Amsterdam", interval: "4d9h" }) }, () => { ... });
 */
export function cronTriggerTimetable(cron: string, options: CronTriggerOptions = {}): Timetable {
  return timetable("CronTriggerTimetable", { crons: [cron], options });
}

/**
 * Airflow's MultipleCronTriggerTimetable: a run at every tick of any of the crons (one run when
 * several tick at once), for schedules one cron cannot say. Otherwise as cronTriggerTimetable().
 *
 * @example
 * // 03:00 every day, and 15:30 on weekdays.
 * dag({ dagId: "twice", schedule: multipleCronTriggerTimetable(["0 3 * * *", "30 15 * * 1-5"], { timezone: "UTC" }) }, () => { ... });
 */
export function multipleCronTriggerTimetable(
  crons: readonly string[],
  options: CronTriggerOptions = {},
): Timetable {
  return timetable("MultipleCronTriggerTimetable", { crons, options });
}

/**
 * Airflow's CronDataIntervalTimetable (Airflow 2's meaning of a cron string): each run covers the
 * interval between two ticks, is created when it ends, and its logical date is its start.
 *
 * @example
 * // The run for 2025-01-01 (logical date) starts just after midnight on 2025-01-02.
 * dag({ dagId: "daily_batch", schedule: cronDataIntervalTimetable("@daily"), startDate: "2025-01-01" }, () => { ... });
 */
export function cronDataIntervalTimetable(cron: string, options: CronDataIntervalOptions = {}): Timetable {
  return timetable("CronDataIntervalTimetable", { crons: [cron], options });
}

/**
 * Airflow's DeltaTriggerTimetable: a run every `every` ("30m", "6h", or seconds), created at its
 * tick. What `{ every }` means by default.
 *
 * @example
 * // Every 6 hours at 03:00, 09:00, 15:00 and 21:00 UTC, each run covering the 6 hours before it.
 * dag({ dagId: "six_hourly", schedule: deltaTriggerTimetable("6h", { anchor: "2025-01-01T03:00Z", interval: "6h" }) }, () => { ... });
 */
export function deltaTriggerTimetable(every: DurationInput, options: DeltaTriggerOptions = {}): Timetable {
  return timetable("DeltaTriggerTimetable", { every, options });
}

/**
 * Airflow's DeltaDataIntervalTimetable: runs covering back-to-back intervals of `every`, each
 * created when its interval ends.
 *
 * @example
 * dag({ dagId: "half_hourly", schedule: deltaDataIntervalTimetable("30m"), startDate: "2025-01-01" }, () => { ... });
 */
export function deltaDataIntervalTimetable(
  every: DurationInput,
  options: DeltaDataIntervalOptions = {},
): Timetable {
  return timetable("DeltaDataIntervalTimetable", { every, options });
}

/**
 * Airflow's ContinuousTimetable, also written `schedule: "@continuous"`: a new run as soon as the
 * previous one ended, each covering the time since. It needs maxActiveRuns 1 (the default with it).
 *
 * @example
 * dag({ dagId: "forever", schedule: continuousTimetable(), startDate: "2025-01-01" }, () => { ... });
 */
export function continuousTimetable(): Timetable {
  return timetable("ContinuousTimetable", {});
}

/** True for a timetable object from this or any other copy of the SDK. */
export function isTimetable(value: unknown): value is Timetable {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as Record<symbol, unknown>)[TIMETABLE_BRAND] === true
  );
}

/** A schedule as dag() checked it; what depends on configuration is settled at serialize time. */
export interface ScheduleSpec {
  /** A "delta" schedule's anchor is still as written here: its zone may come from configuration. */
  schedule: Schedule;
  /** null: the configuration decides (a plain cron string or `{ every }`). */
  semantics: ScheduleSemantics | null;
  /** The timezone the timetable names, if any. */
  timezone: string | null;
}

const SCHEDULE_FORMS =
  'write a cron expression ("30 2 * * *"), a preset ("@daily", "@once", "@continuous"), { every: "30m" }, a timetable such as cronTriggerTimetable("0 3 * * *"), or null for manual runs only';

/** Checks `dag({ schedule })`. */
export function checkSchedule(value: unknown, where: Where): ScheduleSpec {
  if (value === undefined || value === null) return { schedule: null, semantics: null, timezone: null };
  if (isTimetable(value)) return checkTimetable(value, where);
  if (isAssetSchedule(value))
    return {
      schedule: { kind: "assets", condition: conditionOf(value, where) },
      semantics: null,
      timezone: null,
    };
  const airflow = scheduleHint(value);
  if (airflow)
    throw definitionError(
      where,
      `schedule ${describe(value)} is not a cron expression or preset: ${airflow}`,
    );
  if (typeof value === "string") return { schedule: parsed(value, where), semantics: null, timezone: null };
  if (typeof value === "object" && !Array.isArray(value) && "every" in value) {
    assertKnownKeys(value, ["every", "anchor"], "schedule { every }", where);
    const { every, anchor } = value as { every: unknown; anchor?: unknown };
    const names = { step: "schedule { every }", anchor: "schedule anchor" };
    const delta = checkDelta(every, anchor, 0, names, where);
    return { schedule: delta, semantics: null, timezone: null };
  }
  const several = Array.isArray(value)
    ? `; for several crons write multipleCronTriggerTimetable(${describe(value)})`
    : "";
  throw definitionError(where, `schedule ${describe(value)} is not a schedule: ${SCHEDULE_FORMS}${several}`);
}

function parsed(text: string, where: Where): Schedule {
  try {
    return parseSchedule(text, "UTC");
  } catch (error) {
    throw definitionError(where, `schedule: ${(error as Error).message}`);
  }
}

function checkTimetable(t: Timetable, where: Where): ScheduleSpec {
  const what = `schedule ${factoryName(t.timetable)}()`;
  const options = checkOptions(t, what, where);
  switch (t.timetable) {
    case "ContinuousTimetable":
      return { schedule: { kind: "continuous" }, semantics: null, timezone: null };
    case "DeltaTriggerTimetable":
    case "DeltaDataIntervalTimetable": {
      const trigger = t.timetable === "DeltaTriggerTimetable";
      const interval = trigger ? intervalOf(options.interval, what, where) : 0;
      const names = { step: `${what} step`, anchor: `${what} anchor` };
      const schedule = checkDelta(t.given.every, options.anchor, interval, names, where);
      return { schedule, semantics: trigger ? "trigger" : "data_interval", timezone: null };
    }
    default: {
      const timezone = timezoneOf(options.timezone, what, where);
      const crons = checkCrons(t.given.crons, what, where);
      const interval = intervalOf(options.interval, what, where);
      if (t.timetable === "CronDataIntervalTimetable") {
        return { schedule: parsed(crons[0]!, where), semantics: "data_interval", timezone };
      }
      // One cron without an interval is what the old "cron" form says; anything more is cron_trigger.
      const schedule: Schedule =
        crons.length === 1 && interval === 0
          ? parsed(crons[0]!, where)
          : { kind: "cron_trigger", expressions: crons, interval };
      return { schedule, semantics: "trigger", timezone };
    }
  }
}

const OPTION_KEYS: Record<TimetableName, string[]> = {
  CronTriggerTimetable: ["timezone", "interval"],
  MultipleCronTriggerTimetable: ["timezone", "interval"],
  CronDataIntervalTimetable: ["timezone"],
  DeltaTriggerTimetable: ["interval", "anchor"],
  DeltaDataIntervalTimetable: ["anchor"],
  ContinuousTimetable: [],
};

function checkOptions(t: Timetable, what: string, where: Where): Record<string, unknown> {
  const options = t.given.options ?? {};
  assertKnownKeys(options, OPTION_KEYS[t.timetable], `${what} options`, where);
  return options;
}

/** The crons as written (presets kept, so summaries show "@daily"), each checked, duplicates dropped. */
function checkCrons(value: unknown, what: string, where: Where): string[] {
  const example = 'e.g. ["0 3 * * *", "30 15 * * 1-5"]';
  if (!Array.isArray(value) || value.length === 0 || value.some((c) => typeof c !== "string")) {
    throw definitionError(where, `${what} takes cron expressions, got ${describe(value)}: write ${example}`);
  }
  const crons = [...new Set((value as string[]).map((c) => c.trim()))];
  for (const cron of crons) {
    if (cron === "@once" || cron === "@continuous") {
      throw definitionError(where, `${what}: "${cron}" is not a cron: write schedule: "${cron}" instead`);
    }
    try {
      cronExpression(cron, "UTC");
    } catch (error) {
      throw definitionError(where, `${what}: ${(error as Error).message}`);
    }
  }
  return crons;
}

/** `names`: how errors call the step and the anchor. */
function checkDelta(
  every: unknown,
  anchorInput: unknown,
  interval: number,
  names: { step: string; anchor: string },
  where: Where,
): Schedule {
  const seconds = duration(every, names.step, where, true);
  if (seconds === null || seconds === undefined) {
    throw definitionError(where, `${names.step} is missing: write e.g. "30m", "6h" or a number of seconds`);
  }
  const anchor = checkDate(anchorInput, names.anchor, where);
  if (anchor === null && interval === 0) return { kind: "interval", seconds };
  return { kind: "delta", seconds, anchor, interval };
}

function intervalOf(value: unknown, what: string, where: Where): number {
  return duration(value, `${what} interval`, where, false) ?? 0;
}

function timezoneOf(value: unknown, what: string, where: Where): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== "string" || !isValidTimezone(value)) {
    throw definitionError(
      where,
      `${what} timezone ${describe(value)} is not an IANA time zone: write e.g. "UTC" or "Europe/Amsterdam"`,
    );
  }
  return value;
}

function factoryName(name: TimetableName): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}
