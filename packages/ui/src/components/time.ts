/**
 * Dates and durations as the UI shows them. Dates are shown in the zone the user picked (UTC, the
 * browser's, or the DAG's on a DAG's pages; remembered in this browser; ZoneSelect) and always with
 * that zone's name, so a time read off one page is never mistaken for another zone's.
 */
import { useSyncExternalStore } from "react";

/** "dag": the zone of the DAG on screen (its `timezone`); elsewhere the browser's. */
export type ZoneChoice = "local" | "UTC" | "dag";
const KEY = "updraft_timezone";

export function storedZone(): ZoneChoice {
  const stored = localStorage.getItem(KEY);
  return stored === "UTC" || stored === "dag" ? stored : "local";
}

export function storeZone(zone: ZoneChoice): void {
  localStorage.setItem(KEY, zone);
  formatter = undefined; // made again for the new zone
}

let dagZone: string | null = null;
const listeners = new Set<() => void>();

/** The zone of the DAG on screen (DAG and task instance pages set it; null when leaving them). */
export function setDagZone(zone: string | null): void {
  if (dagZone === zone) return;
  dagZone = zone;
  formatter = undefined;
  for (const listener of listeners) listener();
}

/** The zone of the DAG on screen, redrawing the caller when it changes. */
export function useDagZone(): string | null {
  return useSyncExternalStore(
    (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    () => dagZone,
  );
}

/** The IANA zone dates are formatted in; undefined: the browser's. */
function shownZone(): string | undefined {
  const choice = storedZone();
  if (choice === "UTC") return "UTC";
  if (choice === "dag" && dagZone) return dagZone;
  return undefined;
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
    timeZone: shownZone(),
  });
  return formatter;
}

export const formatDate = (iso: string | null | undefined) =>
  iso ? dateFormatter().format(new Date(iso)) : "–";

/** A clock time (axis labels), in the chosen zone. */
export const formatTime = (at: number) =>
  new Date(at).toLocaleTimeString(undefined, { timeZone: shownZone() });

export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return "–";
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}
