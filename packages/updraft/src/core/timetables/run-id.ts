/** Run ids in Airflow's format, so ids read the same as in Airflow and sort by logical date. */
import type { RunType } from "./types.ts";

/** `<runType>__<logical date in Python's isoformat>`, e.g. `scheduled__2025-01-01T00:00:00+00:00`. */
export function runIdFor(runType: RunType, logicalDate: Date): string {
  return `${runType}__${pythonIsoformat(logicalDate)}`;
}

/**
 * Python's `datetime.isoformat()` of a UTC datetime: seconds always, a 6-digit fraction only when
 * it is not zero, and "+00:00" rather than "Z".
 */
export function pythonIsoformat(instant: Date): string {
  if (Number.isNaN(instant.getTime())) throw new RangeError("a run id needs a valid logical date");
  const iso = instant.toISOString(); // 2025-01-01T00:00:00.000Z
  const millis = instant.getUTCMilliseconds();
  const fraction = millis === 0 ? "" : `.${String(millis).padStart(3, "0")}000`;
  return `${iso.slice(0, 19)}${fraction}+00:00`;
}
