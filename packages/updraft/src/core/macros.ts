/**
 * Airflow's template macros (`macros.ds_add`, `macros.ds_format`, `macros.datetime`,
 * `macros.timedelta`), the same for templates (nunjucks) and for TypeScript tasks
 * (`getCurrentContext().macros`). Pure: luxon does the calendar work.
 *
 * Templates cannot add a timedelta to a datetime with `+` as Jinja does, so datetimes carry methods
 * instead: `macros.datetime(2024, 1, 1).plus(macros.timedelta(days=1))`, or pendulum's
 * `add(days=1)` / `subtract(hours=2)`, as Airflow users write on `logical_date`. nunjucks passes
 * keyword arguments (`days=1`) to a function as a last object; TypeScript code passes that object
 * itself (`timedelta({ days: 1 })`). Datetimes are aware (UTC unless given a zone), to the millisecond,
 * and print as Airflow prints `logical_date` (Python's isoformat): `2024-01-01T00:00:00+00:00`.
 */
import { DateTime, IANAZone } from "luxon";

/** Keyword arguments as nunjucks passes them (`f(days=1)` -> `{ days: 1, __keywords: true }`). */
type Keywords = Record<string, unknown>;

const US_PER_DAY = 86_400_000_000;

/** Splits a call's arguments into positional ones and keywords (a trailing plain object). */
function argsOf(args: readonly unknown[]): { positional: unknown[]; keywords: Keywords } {
  const last = args.at(-1);
  if (isKeywords(last)) {
    const { __keywords: _, ...keywords } = last as Keywords;
    return { positional: args.slice(0, -1), keywords };
  }
  return { positional: [...args], keywords: {} };
}

function isKeywords(value: unknown): value is Keywords {
  return (
    typeof value === "object" &&
    value !== null &&
    !(value instanceof MacroTimeDelta) &&
    !(value instanceof MacroDateTime) &&
    Object.getPrototypeOf(value) === Object.prototype
  );
}

function numberArg(name: string, value: unknown, where: string): number {
  const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  if (typeof n !== "number" || !Number.isFinite(n))
    throw new TypeError(`${where}: ${name} must be a number, got ${JSON.stringify(value) ?? String(value)}`);
  return n;
}

/** Python's positional and keyword arguments against one parameter list. */
function bind(
  where: string,
  names: readonly string[],
  args: readonly unknown[],
  extra: readonly string[] = [],
): Record<string, unknown> {
  const { positional, keywords } = argsOf(args);
  if (positional.length > names.length)
    throw new TypeError(`${where} takes at most ${names.length} positional arguments (${names.join(", ")})`);
  const bound: Record<string, unknown> = {};
  positional.forEach((v, i) => (bound[names[i]!] = v));
  for (const [k, v] of Object.entries(keywords)) {
    if (!names.includes(k) && !extra.includes(k))
      throw new TypeError(`${where}: unknown argument "${k}" (expected ${[...names, ...extra].join(", ")})`);
    bound[k] = v;
  }
  return bound;
}

/** A duration (Python's timedelta), kept in whole microseconds. */
export class MacroTimeDelta {
  readonly #us: number;

  constructor(microseconds: number) {
    this.#us = Math.round(microseconds);
  }

  /** Whole days (negative for a negative delta, as Python normalises it). */
  get days(): number {
    return Math.floor(this.#us / US_PER_DAY);
  }
  /** Seconds within the day, 0 to 86399. */
  get seconds(): number {
    return Math.floor((this.#us - this.days * US_PER_DAY) / 1_000_000);
  }
  /** Microseconds within the second, 0 to 999999. */
  get microseconds(): number {
    return this.#us - this.days * US_PER_DAY - this.seconds * 1_000_000;
  }
  total_seconds(): number {
    return this.#us / 1_000_000;
  }
  /** In milliseconds, for date arithmetic. */
  get milliseconds(): number {
    return this.#us / 1000;
  }
  plus(other: MacroTimeDelta | Keywords): MacroTimeDelta {
    return new MacroTimeDelta(this.#us + deltaOf(other, "timedelta.plus").#us);
  }
  minus(other: MacroTimeDelta | Keywords): MacroTimeDelta {
    return new MacroTimeDelta(this.#us - deltaOf(other, "timedelta.minus").#us);
  }
  /** Python's str(timedelta): `1 day, 2:03:04`, `-1 day, 23:59:59`, `0:00:00.500000`. */
  toString(): string {
    const { days, seconds, microseconds } = this;
    const clock = `${Math.floor(seconds / 3600)}:${pad(Math.floor(seconds / 60) % 60)}:${pad(seconds % 60)}`;
    const fraction = microseconds ? `.${String(microseconds).padStart(6, "0")}` : "";
    const day = days ? `${days} day${Math.abs(days) === 1 ? "" : "s"}, ` : "";
    return `${day}${clock}${fraction}`;
  }
  toJSON(): string {
    return this.toString();
  }
  [Symbol.toPrimitive](hint: string): string | number {
    return hint === "number" ? this.total_seconds() : this.toString();
  }
}

const TIMEDELTA_ARGS = ["days", "seconds", "microseconds", "milliseconds", "minutes", "hours", "weeks"];
const US_PER: Record<string, number> = {
  days: US_PER_DAY,
  seconds: 1_000_000,
  microseconds: 1,
  milliseconds: 1000,
  minutes: 60_000_000,
  hours: 3_600_000_000,
  weeks: 7 * US_PER_DAY,
};

/**
 * `macros.timedelta(days=1, hours=2)` in a template, `timedelta({ days: 1, hours: 2 })` in code;
 * positional arguments in Python's order (days, seconds, microseconds, milliseconds, minutes,
 * hours, weeks): `timedelta(1)` is a day.
 */
export function timedelta(...args: unknown[]): MacroTimeDelta {
  const bound = bind("macros.timedelta", TIMEDELTA_ARGS, args);
  let us = 0;
  for (const [name, value] of Object.entries(bound))
    us += numberArg(name, value, "macros.timedelta") * US_PER[name]!;
  return new MacroTimeDelta(us);
}

function deltaOf(value: unknown, where: string): MacroTimeDelta {
  if (value instanceof MacroTimeDelta) return value;
  if (isKeywords(value)) return timedelta(value);
  throw new TypeError(`${where}: expected a timedelta (macros.timedelta(days=1)) or keywords (days=1)`);
}

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/** A moment in a zone (Python's aware datetime), to the millisecond. */
export class MacroDateTime {
  readonly #dt: DateTime;

  constructor(dt: DateTime) {
    if (!dt.isValid)
      throw new RangeError(`not a valid datetime: ${dt.invalidExplanation ?? dt.invalidReason}`);
    this.#dt = dt.setLocale("en-US");
  }

  /** A date (or anything `new Date` reads) in UTC. */
  static of(value: Date | string | number): MacroDateTime {
    return new MacroDateTime(DateTime.fromJSDate(new Date(value), { zone: "utc" }));
  }

  get year(): number {
    return this.#dt.year;
  }
  get month(): number {
    return this.#dt.month;
  }
  get day(): number {
    return this.#dt.day;
  }
  get hour(): number {
    return this.#dt.hour;
  }
  get minute(): number {
    return this.#dt.minute;
  }
  get second(): number {
    return this.#dt.second;
  }
  get microsecond(): number {
    return this.#dt.millisecond * 1000;
  }
  /** The zone's name: `UTC`, `Europe/Paris`, or a fixed offset such as `UTC+2`. */
  get tz(): string {
    return this.#dt.zoneName ?? "UTC";
  }

  /** This moment `delta` later: `.plus(macros.timedelta(days=1))`, or `.plus(days=1)`. */
  plus(...delta: unknown[]): MacroDateTime {
    return this.#shift(deltaArg(delta, "plus"), 1);
  }
  /** `delta` earlier; or, given another datetime, the timedelta between them (Python's `a - b`). */
  minus(other: MacroDateTime): MacroTimeDelta;
  minus(...delta: unknown[]): MacroDateTime;
  minus(...delta: unknown[]): MacroDateTime | MacroTimeDelta {
    if (delta[0] instanceof MacroDateTime)
      return new MacroTimeDelta((this.#dt.toMillis() - delta[0].#dt.toMillis()) * 1000);
    return this.#shift(deltaArg(delta, "minus"), -1);
  }
  /** pendulum's `add(days=1)` (calendar-aware: a month later is the same day next month). */
  add(...args: unknown[]): MacroDateTime {
    return this.#calendar(args, 1, "add");
  }
  /** pendulum's `subtract(months=1)`. */
  subtract(...args: unknown[]): MacroDateTime {
    return this.#calendar(args, -1, "subtract");
  }
  /** The same moment in another zone (pendulum's in_timezone): `.in_timezone("Europe/Paris")`. */
  in_timezone(zone: unknown): MacroDateTime {
    return new MacroDateTime(this.#dt.setZone(zoneOf(zone, "in_timezone")));
  }
  /** Python's astimezone(tz); without a zone, UTC. */
  astimezone(zone?: unknown): MacroDateTime {
    return this.in_timezone(zone ?? "UTC");
  }
  /** Fields replaced: `.replace(day=1, hour=0)`. */
  replace(...args: unknown[]): MacroDateTime {
    const bound = bind("replace", [], args, [
      "year",
      "month",
      "day",
      "hour",
      "minute",
      "second",
      "microsecond",
    ]);
    const set: Record<string, number> = {};
    for (const [name, value] of Object.entries(bound)) {
      const n = numberArg(name, value, "replace");
      if (name === "microsecond") set.millisecond = Math.floor(n / 1000);
      else set[name] = n;
    }
    return new MacroDateTime(this.#dt.set(set));
  }

  /** Python's strftime (C locale): `%Y-%m-%d %H:%M:%S`, `%A`, `%b`, `%j`, `%z`, ... */
  strftime(format: unknown): string {
    return strftime(this.#dt, String(format));
  }
  /** Python's isoformat: `2024-01-01T00:00:00+00:00`, with a fraction only when there is one. */
  isoformat(sep: unknown = "T"): string {
    const dt = this.#dt;
    const fraction = dt.millisecond ? `.${pad(dt.millisecond, 3)}000` : "";
    return `${dt.toFormat("yyyy-MM-dd")}${String(sep)}${dt.toFormat("HH:mm:ss")}${fraction}${dt.toFormat("ZZ")}`;
  }
  /** The calendar date, as Python prints a date: `2024-01-01`. */
  date(): string {
    return this.#dt.toFormat("yyyy-MM-dd");
  }
  /** Seconds since the epoch (Python's timestamp()). */
  timestamp(): number {
    return this.#dt.toMillis() / 1000;
  }
  /** Monday is 0 (Python). */
  weekday(): number {
    return this.#dt.weekday - 1;
  }
  /** Monday is 1 (Python). */
  isoweekday(): number {
    return this.#dt.weekday;
  }
  /** The JavaScript Date of this moment (for TypeScript tasks). */
  toDate(): Date {
    return this.#dt.toJSDate();
  }
  toString(): string {
    return this.isoformat();
  }
  toJSON(): string {
    return this.isoformat();
  }
  /** Compares as a number (`a < b` in a template), prints as isoformat. */
  [Symbol.toPrimitive](hint: string): string | number {
    return hint === "number" ? this.#dt.toMillis() : this.isoformat();
  }

  #shift(delta: MacroTimeDelta, sign: 1 | -1): MacroDateTime {
    return new MacroDateTime(this.#dt.plus({ milliseconds: sign * delta.milliseconds }));
  }

  #calendar(args: unknown[], sign: 1 | -1, where: string): MacroDateTime {
    const units = ["years", "months", "weeks", "days", "hours", "minutes", "seconds", "microseconds"];
    const bound = bind(where, [], args, units);
    const shift: Record<string, number> = {};
    for (const [name, value] of Object.entries(bound)) {
      const n = sign * numberArg(name, value, where);
      if (name === "microseconds") shift.milliseconds = n / 1000;
      else shift[name] = n;
    }
    return new MacroDateTime(this.#dt.plus(shift));
  }
}

function deltaArg(args: unknown[], where: string): MacroTimeDelta {
  if (args.length === 1) return deltaOf(args[0], where);
  throw new TypeError(`${where}: pass one timedelta (macros.timedelta(days=1)) or keywords (days=1)`);
}

function zoneOf(zone: unknown, where: string): string {
  const name = String(zone);
  if (name === "UTC" || name === "utc" || IANAZone.isValidZone(name)) return name;
  throw new RangeError(`${where}: unknown time zone "${name}" (use an IANA name such as "Europe/Paris")`);
}

const DATETIME_ARGS = ["year", "month", "day", "hour", "minute", "second", "microsecond", "tzinfo"];

/**
 * `macros.datetime(2024, 1, 31)`, `macros.datetime(2024, 1, 31, 12, tzinfo="Europe/Paris")`; and
 * `macros.datetime.now()`, `.utcnow()`, `.fromisoformat(logical_date)`, `.strptime(text, format)`,
 * `.fromtimestamp(seconds)`. Without a zone a datetime is UTC.
 */
export const datetime = Object.assign(
  (...args: unknown[]): MacroDateTime => {
    const b = bind("macros.datetime", DATETIME_ARGS, args, ["tz"]);
    for (const required of ["year", "month", "day"])
      if (b[required] === undefined) throw new TypeError(`macros.datetime: ${required} is required`);
    const n = (name: string) => (b[name] === undefined ? 0 : numberArg(name, b[name], "macros.datetime"));
    const zone = b.tzinfo ?? b.tz;
    const fields = {
      year: n("year"),
      month: n("month"),
      day: n("day"),
      hour: n("hour"),
      minute: n("minute"),
      second: n("second"),
      millisecond: Math.floor(n("microsecond") / 1000),
    };
    return new MacroDateTime(
      DateTime.fromObject(fields, { zone: zone === undefined ? "utc" : zoneOf(zone, "macros.datetime") }),
    );
  },
  {
    /** Now, in UTC (or in `tz`: `now("Europe/Paris")`, `now(tz="Europe/Paris")`). */
    now: (tz?: unknown) => inZone(MacroDateTime.of(Date.now()), tz),
    utcnow: () => MacroDateTime.of(Date.now()),
    /** A datetime from ISO-8601 text (`logical_date`, `data_interval_end`); no offset means UTC. */
    fromisoformat: (text: unknown) => {
      const parsed = DateTime.fromISO(String(text), { zone: "utc", setZone: true });
      if (!parsed.isValid)
        throw new RangeError(`macros.datetime.fromisoformat: "${String(text)}" is not an ISO-8601 date`);
      return new MacroDateTime(parsed);
    },
    /** Python's strptime: `strptime("05/01/2024", "%d/%m/%Y")`; UTC unless the text has `%z`. */
    strptime: (text: unknown, format: unknown) => new MacroDateTime(strptime(String(text), String(format))),
    fromtimestamp: (seconds: unknown, tz?: unknown) =>
      inZone(MacroDateTime.of(numberArg("timestamp", seconds, "macros.datetime.fromtimestamp") * 1000), tz),
  },
);

/** `at` in zone `tz` (a name, or keywords naming it `tz` or `tzinfo`); UTC without one. */
function inZone(at: MacroDateTime, tz: unknown): MacroDateTime {
  const zone = isKeywords(tz) ? (tz.tz ?? tz.tzinfo) : tz;
  return zone === undefined || zone === null ? at : at.in_timezone(zone);
}

/** Airflow's macros.ds_add: a YYYY-MM-DD date moved by `days` (0: the text as given). */
export function dsAdd(value: unknown, days: unknown): string {
  const n = numberArg("days", days, "macros.ds_add");
  if (!n) return String(value);
  return datetime.strptime(String(value), "%Y-%m-%d").plus(timedelta(n)).strftime("%Y-%m-%d");
}

/** Airflow's macros.ds_format: strptime with one format, strftime with another. */
export function dsFormat(value: unknown, input: unknown, output: unknown): string {
  return datetime.strptime(String(value), String(input)).strftime(output);
}

/** The macros templates and TypeScript tasks see (`macros.*`). */
export const MACROS = Object.freeze({ ds_add: dsAdd, ds_format: dsFormat, datetime, timedelta });
export type Macros = typeof MACROS;

/** strftime codes to luxon tokens for parsing: numbers unpadded, as Python's strptime accepts them. */
const PARSE: Record<string, string> = {
  "%Y": "yyyy",
  "%y": "yy",
  "%m": "M",
  "%d": "d",
  "%H": "H",
  "%I": "h",
  "%p": "a",
  "%M": "m",
  "%S": "s",
  "%f": "u",
  "%b": "LLL",
  "%B": "LLLL",
  "%a": "ccc",
  "%A": "cccc",
  "%j": "o",
  "%z": "ZZZ",
  "%%": "'%'",
};

function strptime(text: string, format: string): DateTime {
  const tokens = format
    .split(/(%.)/)
    .map((part) => {
      if (!part.startsWith("%")) return part ? `'${part.replace(/'/g, "''")}'` : "";
      const token = PARSE[part];
      if (!token)
        throw new RangeError(
          `macros: strptime does not support ${part} (supported: ${Object.keys(PARSE).join(" ")})`,
        );
      return token;
    })
    .join("");
  const parsed = DateTime.fromFormat(text, tokens, { zone: "utc", setZone: true, locale: "en-US" });
  if (!parsed.isValid) throw new RangeError(`macros: "${text}" does not match "${format}"`);
  return parsed;
}

/** Python's strftime codes (C locale) over a luxon DateTime. */
const FORMAT: Record<string, (dt: DateTime) => string> = {
  a: (dt) => dt.toFormat("ccc"),
  A: (dt) => dt.toFormat("cccc"),
  w: (dt) => String(dt.weekday % 7),
  u: (dt) => String(dt.weekday),
  d: (dt) => pad(dt.day),
  e: (dt) => String(dt.day).padStart(2, " "),
  b: (dt) => dt.toFormat("LLL"),
  h: (dt) => dt.toFormat("LLL"),
  B: (dt) => dt.toFormat("LLLL"),
  m: (dt) => pad(dt.month),
  y: (dt) => pad(dt.year % 100),
  Y: (dt) => String(dt.year),
  G: (dt) => String(dt.weekYear),
  V: (dt) => pad(dt.weekNumber),
  H: (dt) => pad(dt.hour),
  I: (dt) => pad(dt.hour % 12 || 12),
  p: (dt) => (dt.hour < 12 ? "AM" : "PM"),
  M: (dt) => pad(dt.minute),
  S: (dt) => pad(dt.second),
  f: (dt) => pad(dt.millisecond * 1000, 6),
  z: (dt) => dt.toFormat("ZZZ"),
  Z: (dt) => (dt.offset === 0 && dt.zoneName?.toUpperCase() === "UTC" ? "UTC" : dt.toFormat("ZZZZ")),
  j: (dt) => pad(dt.ordinal, 3),
  U: (dt) => pad(Math.floor((dt.ordinal + 6 - (dt.weekday % 7)) / 7)),
  W: (dt) => pad(Math.floor((dt.ordinal + 6 - ((dt.weekday + 6) % 7)) / 7)),
  c: (dt) => strftime(dt, "%a %b %e %H:%M:%S %Y"),
  x: (dt) => strftime(dt, "%m/%d/%y"),
  X: (dt) => strftime(dt, "%H:%M:%S"),
  D: (dt) => strftime(dt, "%m/%d/%y"),
  F: (dt) => strftime(dt, "%Y-%m-%d"),
  T: (dt) => strftime(dt, "%H:%M:%S"),
  R: (dt) => strftime(dt, "%H:%M"),
  s: (dt) => String(Math.floor(dt.toSeconds())),
  n: () => "\n",
  t: () => "\t",
  "%": () => "%",
};

function strftime(dt: DateTime, format: string): string {
  return format.replace(/%(.?)/g, (whole, code: string) => {
    const fn = FORMAT[code];
    if (!fn)
      throw new RangeError(
        `macros: strftime does not support ${whole || "a lone %"} (write %% for a percent sign)`,
      );
    return fn(dt);
  });
}
