/**
 * A one-line human summary of when a DAG runs, for listings: "At 02:30, Europe/Amsterdam",
 * "@daily, UTC", "Every 30 minutes". Cron expressions it cannot phrase are shown as written.
 */
import { cronExpression, parseSchedule, type Schedule } from "../schedule.ts";
import type { TimetableDag } from "./types.ts";

const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

export function describeTimetable(dag: Pick<TimetableDag, "schedule" | "timezone">): string {
  const { schedule } = dag;
  if (schedule === null) return "Manual runs only";
  switch (schedule.kind) {
    case "once":
      return "@once";
    case "continuous":
      return "As often as possible, one run at a time";
    case "interval":
      return `Every ${describeSeconds(schedule.seconds)}`;
    case "delta": {
      const every = `Every ${describeSeconds(schedule.seconds)}`;
      return schedule.anchor === null ? every : `${every}, aligned to ${shortIso(schedule.anchor)}`;
    }
    // A cron time means nothing without its zone, so the zone is always shown.
    case "cron":
      return `${schedule.preset ?? describeCron(schedule.expression) ?? schedule.expression}, ${dag.timezone}`;
    case "cron_trigger":
      return `${schedule.expressions.map(describeWritten).join("; ")}, ${dag.timezone}`;
  }
}

/**
 * The description of a stored summary (describeSchedule's output, which the DAG row keeps), or
 * the summary itself when it cannot be read back.
 */
export function describeSummary(summary: string, timezone: string): string {
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

/** A cron or preset as written in a list of crons. */
function describeWritten(written: string): string {
  return written.startsWith("@") ? written : (describeCron(written) ?? written);
}

function shortIso(iso: string): string {
  return new Date(iso).toISOString().replace(".000Z", "Z");
}

/** "At 02:30", "At minute 15 of every hour, Monday through Friday", ...; null when too irregular. */
export function describeCron(expression: string): string | null {
  const [minute, hour, dom, month, dow] = expression.trim().split(/\s+/);
  if (dow === undefined) return null;
  const days = describeDays(dom!, month!, dow);
  const time = describeTime(minute!, hour!);
  return days === null || time === null ? null : time + days;
}

function describeTime(minute: string, hour: string): string | null {
  const number = /^\d+$/;
  if (number.test(minute) && number.test(hour)) return `At ${pad(hour)}:${pad(minute)}`;
  if (hour !== "*") return null;
  if (number.test(minute)) return `At minute ${Number(minute)} of every hour`;
  if (minute === "*") return "Every minute";
  const step = /^\*\/(\d+)$/.exec(minute);
  return step ? `Every ${step[1]} minutes` : null;
}

function describeDays(dom: string, month: string, dow: string): string | null {
  if (month !== "*") return null;
  if (dom === "*" && dow === "*") return "";
  if (dow === "*" && /^\d+$/.test(dom)) return `, on day ${Number(dom)} of the month`;
  if (dom !== "*") return null;
  const range = /^([0-7])-([0-7])$/.exec(dow);
  if (range) return `, ${DAYS[Number(range[1])]} through ${DAYS[Number(range[2])]}`;
  if (!/^[0-7](,[0-7])*$/.test(dow)) return null;
  return `, on ${dow
    .split(",")
    .map((d) => DAYS[Number(d)])
    .join(", ")}`;
}

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

function pad(value: string): string {
  return String(Number(value)).padStart(2, "0");
}
