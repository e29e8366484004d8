/**
 * Wall-clock time in a zone, as Airflow (croniter on naive datetimes, then pendulum) handles it.
 * A wall-clock time is carried as a Date whose UTC fields are the local fields ("naive").
 */
import { IANAZone } from "luxon";

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

export function zoneOf(timezone: string): IANAZone {
  const zone = IANAZone.create(timezone);
  if (!zone.isValid) throw new RangeError(`"${timezone}" is not an IANA time zone`);
  return zone;
}

/** The local wall-clock time of an instant, as a naive Date. */
export function toWallClock(instant: Date, zone: IANAZone): Date {
  return new Date(instant.getTime() + zone.offset(instant.getTime()) * MINUTE_MS);
}

/**
 * The instant a naive wall-clock time names. Like pendulum (so Airflow's DST vectors hold): a time
 * that occurs twice takes its second occurrence, and a time skipped by a DST gap moves forward by
 * the gap (02:30 becomes 03:30). In both cases that is the latest of the candidate instants.
 */
export function fromWallClock(naive: Date, zone: IANAZone): Date {
  return new Date(Math.max(...wallClockInstants(naive, zone)));
}

/**
 * Every instant a naive wall-clock time names: two in a repeated hour (earliest first), one
 * usually, and in a DST gap the one a forward move by the gap gives.
 */
export function wallClockInstants(naive: Date, zone: IANAZone): number[] {
  const local = naive.getTime();
  // Offsets a day either side cover any one transition near this time.
  const offsets = new Set([zone.offset(local - DAY_MS), zone.offset(local), zone.offset(local + DAY_MS)]);
  const candidates = [...offsets].map((offset) => local - offset * MINUTE_MS);
  const exact = candidates.filter((t) => toWallClock(new Date(t), zone).getTime() === local);
  return exact.length > 0 ? exact.sort((a, b) => a - b) : [Math.max(...candidates)];
}
