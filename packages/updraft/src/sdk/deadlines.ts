/**
 * Deadlines (Airflow 3.1's DeadlineAlert): "this run must finish by <interval> after <reference>",
 * with a callback (a function of the context or a notifier) run when a run misses it. References are
 * Airflow's DeadlineReference: DAGRUN_LOGICAL_DATE ("logical_date"), DAGRUN_QUEUED_AT ("queued_at")
 * and FIXED_DATETIME (`{ fixedDatetime: "2025-06-01T12:00" }`). The scheduler writes and checks the
 * deadlines; the triggerer runs the callbacks (docs/callbacks.md).
 */
import type { DurationInput } from "../core/duration.ts";
import type { CallbackInput, Callback } from "./callback-types.ts";
import { callbackList } from "./callbacks.ts";
import { checkDate, type DateInput } from "./dates.ts";
import { definitionError, describe, type Where } from "./fail.ts";
import { duration } from "./options.ts";
import { soft } from "./problems.ts";

/** What a deadline counts from (Airflow's DeadlineReference). */
export type DeadlineReference =
  "logical_date" | "queued_at" | "DAGRUN_LOGICAL_DATE" | "DAGRUN_QUEUED_AT" | { fixedDatetime: DateInput };

/** One deadline of a DAG's runs (Airflow's DeadlineAlert). */
export interface DeadlineAlert {
  /** What the interval counts from: the run's logical date, when it was queued, or a fixed time. */
  reference: DeadlineReference;
  /** How long after the reference the run must have finished: "30m", "1h", or seconds. */
  interval: DurationInput;
  /** Run when a run misses the deadline: a function of the context, a notifier, or a list of them. */
  callback: CallbackInput;
}

/** A deadline as checked: the reference normalized, the interval in seconds. */
export interface CheckedDeadline {
  reference: "logical_date" | "queued_at" | "fixed_datetime";
  /** For fixed_datetime: the time as written (read in the DAG's timezone when it has no offset). */
  fixed: string | null;
  interval: number;
  callbacks: Callback[];
}

const REFERENCES: Record<string, CheckedDeadline["reference"]> = {
  logical_date: "logical_date",
  dagrun_logical_date: "logical_date",
  queued_at: "queued_at",
  dagrun_queued_at: "queued_at",
};

const REFERENCE_HELP =
  'write "logical_date" (DeadlineReference.DAGRUN_LOGICAL_DATE), "queued_at" (DAGRUN_QUEUED_AT) or { fixedDatetime: "2025-06-01T12:00" } (FIXED_DATETIME)';

/** The DAG's `deadline` option as a list (one alert or several); [] when unset. */
export function checkDeadlines(value: unknown, where: Where): CheckedDeadline[] {
  if (value === undefined || value === null) return [];
  const items = Array.isArray(value) ? (value as unknown[]) : [value];
  // Each alert checked on its own, so every bad one is reported (problems.ts).
  return items.flatMap((item, i) =>
    soft(() => [checkDeadline(item, Array.isArray(value) ? `deadline[${i}]` : "deadline", where)], []),
  );
}

function checkDeadline(item: unknown, at: string, where: Where): CheckedDeadline {
  if (item === null || typeof item !== "object" || Array.isArray(item)) {
    throw definitionError(
      where,
      `${at} must be { reference, interval, callback } (Airflow's DeadlineAlert), got ${describe(item)}: write e.g. { reference: "queued_at", interval: "1h", callback: (ctx) => ... }`,
    );
  }
  const o = item as Record<string, unknown>;
  const unknown = Object.keys(o).filter((k) => !["reference", "interval", "callback", "onMiss"].includes(k));
  if (unknown.length > 0)
    throw definitionError(
      where,
      `${at} has unknown keys ${unknown.join(", ")}: it takes reference, interval and callback`,
    );
  const { reference, fixed } = checkReference(o.reference, at, where);
  const interval = duration(o.interval, `${at}.interval`, where, false);
  if (interval === undefined || interval === null)
    throw definitionError(
      where,
      `${at}.interval is missing: write e.g. interval: "1h" (after the reference)`,
    );
  // `onMiss` is accepted as another name for the callback (the contract's name for the event).
  const given = o.callback ?? o.onMiss;
  const callbacks = callbackList(given, where, `${at}.callback`);
  if (callbacks.length === 0)
    throw definitionError(
      where,
      `${at}.callback is missing: give a function of the context or a notifier to run when a run misses the deadline`,
    );
  return { reference, fixed, interval, callbacks };
}

function checkReference(
  value: unknown,
  at: string,
  where: Where,
): { reference: CheckedDeadline["reference"]; fixed: string | null } {
  if (typeof value === "string") {
    const reference = REFERENCES[value.toLowerCase().replace(/^deadlinereference\./, "")];
    if (reference) return { reference, fixed: null };
  }
  if (value !== null && typeof value === "object" && "fixedDatetime" in value) {
    const fixed = checkDate(
      (value as { fixedDatetime: unknown }).fixedDatetime,
      `${at}.reference.fixedDatetime`,
      where,
    );
    if (fixed !== null) return { reference: "fixed_datetime", fixed };
  }
  throw definitionError(
    where,
    `${at}.reference ${describe(value)} is not a deadline reference: ${REFERENCE_HELP}`,
  );
}
