/**
 * A one-line human summary of when a DAG runs, for listings: "At 02:30, Europe/Amsterdam",
 * "@daily, UTC", "Every 30 minutes". Cron expressions it cannot phrase are shown as written.
 */
import type { TimetableDag } from "./types.ts";

const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

export function describeTimetable(dag: Pick<TimetableDag, "schedule" | "timezone">): string {
  const { schedule } = dag;
  if (schedule === null) return "Manual runs only";
  if (schedule.kind === "once") return "@once";
  if (schedule.kind === "interval") return `Every ${describeSeconds(schedule.seconds)}`;
  // A cron time means nothing without its zone, so the zone is always shown.
  const when = schedule.preset ?? describeCron(schedule.expression) ?? schedule.expression;
  return `${when}, ${dag.timezone}`;
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
