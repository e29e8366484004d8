/**
 * The schedule a DAG declares, normalised. Timetable maths (next run, data intervals) lives in
 * timetables (issue 3); this module only says what a schedule is and whether it is valid.
 */
import { Cron } from "croner";
import { IANAZone } from "luxon";
import type { z } from "zod";
import { parseDuration, type DurationInput } from "./duration.ts";
import type { ScheduleSchema } from "./serialized.ts";

export const CRON_PRESETS: Record<string, string> = {
  "@hourly": "0 * * * *",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@weekly": "0 0 * * 0",
  "@monthly": "0 0 1 * *",
  "@quarterly": "0 0 1 */3 *",
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
};

/** A schedule as a string or `{ every }` gives it; the SDK also takes timetable objects (sdk/timetables.ts). */
export type ScheduleInput = string | { every: DurationInput } | null;

/** The normalised schedule, as stored in the serialized DAG. */
export type Schedule = z.infer<typeof ScheduleSchema>;

/** Returns the normalised schedule, or throws an Error whose message says what to write instead. */
export function parseSchedule(input: ScheduleInput | undefined, timezone: string): Schedule {
  if (input === null || input === undefined) return null;
  if (typeof input === "object") {
    const seconds = parseDuration(input.every);
    if (seconds <= 0)
      throw new Error(`schedule { every: ${JSON.stringify(input.every)} } must be longer than 0s`);
    return { kind: "interval", seconds };
  }
  const text = input.trim();
  if (text === "@once") return { kind: "once" };
  if (text === "@continuous") return { kind: "continuous" };
  const expression = cronExpression(text, timezone);
  return { kind: "cron", expression, preset: text.startsWith("@") ? text : null };
}

/** The 5-field expression of a cron or cron preset; throws when it is neither. */
export function cronExpression(text: string, timezone: string): string {
  if (text.startsWith("@")) {
    const expression = CRON_PRESETS[text];
    if (!expression) {
      throw new Error(
        `unknown schedule preset "${text}": use one of @once, @continuous, ${Object.keys(CRON_PRESETS).join(", ")}`,
      );
    }
    return expression;
  }
  assertCron(text, timezone);
  return text;
}

function assertCron(expression: string, timezone: string): void {
  const fields = expression.split(/\s+/);
  if (fields.length !== 5) {
    throw new Error(
      `"${expression}" is not a 5-field cron expression (minute hour day-of-month month day-of-week), e.g. "30 2 * * *"`,
    );
  }
  try {
    new Cron(expression, { timezone, paused: true });
  } catch (error) {
    throw new Error(`"${expression}" is not a valid cron expression: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

export function isValidTimezone(timezone: string): boolean {
  return IANAZone.isValidZone(timezone);
}

/**
 * The short summary listings show (Airflow's timetable_summary), stored on the DAG row. It is
 * read back by scheduleOfSummary (timetables/describe.ts), so each kind keeps a form it can parse.
 */
export function describeSchedule(schedule: Schedule): string {
  if (schedule === null) return "None";
  switch (schedule.kind) {
    case "once":
    case "continuous":
      return `@${schedule.kind}`;
    case "interval":
      return `every ${schedule.seconds}s`;
    case "delta":
      return `every ${schedule.seconds}s${schedule.anchor === null ? "" : ` from ${schedule.anchor}`}`;
    case "cron_trigger":
      // Airflow's summary of MultipleCronTriggerTimetable: the expressions, comma-separated.
      return clip(schedule.expressions.join(", "));
    case "cron":
      return schedule.preset ?? schedule.expression;
    case "assets":
      // Airflow's summary of an asset-triggered timetable.
      return "Asset";
  }
}

/** The DAG row keeps at most 250 characters of summary. */
function clip(summary: string): string {
  return summary.length <= 250 ? summary : `${summary.slice(0, 249)}…`;
}
