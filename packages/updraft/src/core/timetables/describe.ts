/**
 * A DAG's schedule in words (Airflow's timetable_description), for the UI and listings:
 * "every day at 02:30, Europe/Amsterdam", "every hour", "every 1 hour 30 minutes",
 * "never (manual runs only)". Crons are phrased by cronstrue (24-hour clock), then adapted to read
 * as a phrase after "runs:"; a cron it cannot phrase is shown as written.
 */
import cronstrue from "cronstrue";
import { describeCondition } from "../assets.ts";
import { IANAZone } from "luxon";
import { CRON_PRESETS, cronExpression, parseSchedule, type Schedule } from "../schedule.ts";
import type { TimetableDag } from "./types.ts";

export function describeTimetable(dag: Pick<TimetableDag, "schedule" | "timezone">): string {
  const { schedule } = dag;
  if (schedule === null) return "never (manual runs only)";
  switch (schedule.kind) {
    case "once":
      return "once, as soon as possible";
    case "continuous":
      return "continuously: a new run as soon as the last one ends";
    case "interval":
      return `every ${describeSeconds(schedule.seconds)}`;
    case "delta": {
      const every = `every ${describeSeconds(schedule.seconds)}`;
      return schedule.anchor === null ? every : `${every}, counted from ${shortIso(schedule.anchor)}`;
    }
    case "cron":
      return withZone(
        [schedule.expression],
        describeWritten(schedule.preset ?? schedule.expression),
        dag.timezone,
      );
    case "assets":
      return `when assets are updated: ${describeCondition(schedule.condition)}`;
    case "cron_trigger": {
      const words = schedule.expressions.map(describeWritten).join("; and ");
      return withZone(schedule.expressions.map(expand), words, dag.timezone);
    }
  }
}

/**
 * The description of a stored summary (describeSchedule's output, which the DAG row keeps), or
 * the summary itself when it cannot be read back.
 */
export function describeSummary(summary: string, timezone: string): string {
  if (summary === "Asset") return "when assets are updated";
  try {
    return describeTimetable({ schedule: scheduleOfSummary(summary, timezone), timezone });
  } catch {
    return summary;
  }
}

function scheduleOfSummary(summary: string, timezone: string): Schedule {
  if (summary === "None") return null;
  const every = /^every (\d+(?:\.\d+)?)s(?: from (\S+))?$/.exec(summary);
  if (every) {
    const seconds = Number(every[1]);
    return every[2] === undefined
      ? { kind: "interval", seconds }
      : { kind: "delta", seconds, anchor: every[2], interval: 0 };
  }
  const expressions = summary.split(", ");
  if (expressions.length === 1) return parseSchedule(summary, timezone);
  for (const written of expressions) cronExpression(written, timezone);
  return { kind: "cron_trigger", expressions, interval: 0 };
}

/**
 * A cron time means nothing without its zone, so the zone is shown (its IANA name, which does not
 * change with daylight saving time as "CET"/"CEST" would) — except for crons that name only
 * minutes ("every hour", "every 15 minutes"): those tick at the same instants in every zone whose
 * offset is a whole number of hours.
 */
function withZone(expressions: string[], words: string, timezone: string): string {
  const minutesOnly = expressions.every((e) => /^\S+ \* \* \* \*$/.test(e.trim()));
  return minutesOnly && wholeHourOffsets(timezone) ? words : `${words}, ${timezone}`;
}

/** Whether the zone's offset is whole hours in winter and in summer (not India's +05:30). */
function wholeHourOffsets(timezone: string): boolean {
  const zone = IANAZone.create(timezone);
  if (!zone.isValid) return false;
  return [Date.UTC(2025, 0, 1), Date.UTC(2025, 6, 1)].every((t) => zone.offset(t) % 60 === 0);
}

/** A preset's 5-field expression, or the expression itself. */
function expand(written: string): string {
  return CRON_PRESETS[written] ?? written;
}

/** A cron or preset in words, or as written when cronstrue cannot read it. */
function describeWritten(written: string): string {
  return describeCron(expand(written)) ?? written;
}

/**
 * "every day at 02:30", "at 02:30, Monday through Friday", "every 15 minutes",
 * "every 6 hours, on the hour, Monday through Friday"; null when cronstrue cannot read it.
 */
export function describeCron(expression: string): string | null {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5) return null;
  let words: string;
  try {
    words = cronstrue.toString(fields.join(" "), {
      use24HourTimeFormat: true,
      throwExceptionOnParseError: true,
    });
  } catch {
    return null;
  }
  // "At 02:30" alone reads as a single moment: a fixed time with no day fields is every day's.
  const [minute, hour, ...days] = fields;
  const daily = /^\d+$/.test(minute!) && /^\d+$/.test(hour!) && days.every((d) => d === "*");
  words = words
    .replace(/, only on /g, ", on ")
    .replace(/, only in /g, ", in ")
    .replace(/^On the hour, every (\d+) hours/, "Every $1 hours, on the hour");
  return daily ? `every day ${lowerFirst(words)}` : lowerFirst(words);
}

function lowerFirst(words: string): string {
  return words.charAt(0).toLowerCase() + words.slice(1);
}

function shortIso(iso: string): string {
  return new Date(iso).toISOString().replace(".000Z", "Z");
}

/** "1 day", "1 hour 30 minutes", "90061 s" as "1 day 1 hour 1 minute 1 second". */
function describeSeconds(seconds: number): string {
  const units: [string, number][] = [
    ["day", 86400],
    ["hour", 3600],
    ["minute", 60],
    ["second", 1],
  ];
  const parts: string[] = [];
  let rest = seconds;
  for (const [name, size] of units) {
    const count = name === "second" ? rest : Math.floor(rest / size);
    if (count > 0) parts.push(`${count} ${name}${count === 1 ? "" : "s"}`);
    rest -= count * size;
  }
  return parts.join(" ") || `${seconds} seconds`;
}
