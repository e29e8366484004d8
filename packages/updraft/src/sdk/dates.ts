/**
 * startDate/endDate as users write them. A date or time without an offset is a wall-clock time in
 * the DAG's timezone, which may only be known at serialize time (configuration's default timezone),
 * so the checked input is kept as an ISO string and converted to UTC by toUtcIso().
 */
import { DateTime } from "luxon";
import { dateHint } from "./airflow-names.ts";
import { definitionError, describe, type Where } from "./fail.ts";

/** "2025-01-01", "2025-01-01T06:00", "2025-01-01T06:00:00+01:00", "2025-01-01T05:00:00Z", or a Date. */
export type DateInput = string | Date;

const ISO_FORM = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)?)?$/;

export const DATE_FORMATS =
  'write "2025-01-01" or "2025-01-01T06:00" (a wall-clock time in the DAG\'s timezone), ' +
  'an ISO-8601 time with an offset such as "2025-01-01T06:00:00Z" or "2025-01-01T06:00:00+01:00", or a Date';

/** Checks a date input and returns it as an ISO string (a Date becomes its UTC instant). */
export function checkDate(value: unknown, name: string, where: Where): string | null {
  if (value === undefined || value === null) return null;
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime()))
      throw definitionError(where, `${name} is an invalid Date: ${DATE_FORMATS}`);
    return value.toISOString();
  }
  const text =
    typeof value === "string" ? value.trim().replace(/^(\d{4}-\d{2}-\d{2}) (?=\d)/, "$1T") : undefined;
  if (text === undefined || !ISO_FORM.test(text)) {
    const airflow = dateHint(value);
    if (airflow) throw definitionError(where, `${name} ${describe(value)} is not a date: ${airflow}`);
    throw definitionError(where, `${name} ${describe(value)} is not a date: ${DATE_FORMATS}`);
  }
  const parsed = DateTime.fromISO(text, { zone: "UTC" });
  if (!parsed.isValid) {
    throw definitionError(
      where,
      `${name} ${describe(value)} is not a date (${parsed.invalidExplanation ?? parsed.invalidReason}): ${DATE_FORMATS}`,
    );
  }
  return text;
}

/** The UTC instant of a checked date, reading times without an offset in `timezone`. */
export function toUtc(iso: string, timezone: string): DateTime {
  return DateTime.fromISO(iso, { zone: timezone }).toUTC();
}

export function toUtcIso(iso: string | null, timezone: string): string | null {
  return iso === null ? null : toUtc(iso, timezone).toISO();
}
