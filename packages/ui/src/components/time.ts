/**
 * Dates and durations as the UI shows them. Dates are shown in the zone the user picked (UTC or the
 * browser's, remembered in this browser; ZoneSelect) and always with that zone's name, so a time
 * read off one page is never mistaken for another zone's.
 */

export type ZoneChoice = "local" | "UTC";
const KEY = "updraft_timezone";

export function storedZone(): ZoneChoice {
  return localStorage.getItem(KEY) === "UTC" ? "UTC" : "local";
}

export function storeZone(zone: ZoneChoice): void {
  localStorage.setItem(KEY, zone);
  formatter = undefined; // made again for the new zone
}

/** The browser's own zone, e.g. "Europe/Paris". */
export const browserZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone;

let formatter: Intl.DateTimeFormat | undefined;
function dateFormatter(): Intl.DateTimeFormat {
  formatter ??= new Intl.DateTimeFormat(undefined, {
    year: "numeric",
    month: "numeric",
    day: "numeric",
    hour: "numeric",
    minute: "2-digit",
    second: "2-digit",
    timeZoneName: "short",
    ...(storedZone() === "UTC" ? { timeZone: "UTC" } : {}),
  });
  return formatter;
}

export const formatDate = (iso: string | null | undefined) =>
  iso ? dateFormatter().format(new Date(iso)) : "–";

/** A clock time (axis labels), in the chosen zone. */
export const formatTime = (at: number) =>
  new Date(at).toLocaleTimeString(undefined, storedZone() === "UTC" ? { timeZone: "UTC" } : {});

export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return "–";
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}
