/**
 * The schedule a DAG declares, normalised. Timetable maths (next run, data intervals) lives in
 * timetables (issue 3); this module only says what a schedule is and whether it is valid.
 */
import { Cron } from "croner";
import { IANAZone } from "luxon";
import { parseDuration, type DurationInput } from "./duration.ts";

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

export type ScheduleInput = string | { every: DurationInput } | null;

export type Schedule =
  | { kind: "cron"; expression: string; preset: string | null }
  | { kind: "interval"; seconds: number }
  | { kind: "once" }
  | null;

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
  if (text.startsWith("@")) {
    const expression = CRON_PRESETS[text];
    if (!expression) {
      throw new Error(
        `unknown schedule preset "${text}": use one of @once, ${Object.keys(CRON_PRESETS).join(", ")}`,
      );
    }
    return { kind: "cron", expression, preset: text };
  }
  assertCron(text, timezone);
  return { kind: "cron", expression: text, preset: null };
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

export function describeSchedule(schedule: Schedule): string {
  if (schedule === null) return "None";
  if (schedule.kind === "once") return "@once";
  if (schedule.kind === "interval") return `every ${schedule.seconds}s`;
  return schedule.preset ?? schedule.expression;
}
