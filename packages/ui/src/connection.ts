/**
 * Whether the server can be reached. Any query whose fetch fails at the network (the API is down, the
 * network gone) marks the connection lost; any answer marks it back. While lost, the shell shows a
 * banner (ConnectionBanner.tsx) that says the page's data may be stale, offers a retry and probes the
 * server's health until it answers, then re-reads everything on screen.
 */
import { useSyncExternalStore } from "react";

let lost = false;
const listeners = new Set<() => void>();

function set(value: boolean) {
  if (lost === value) return;
  lost = value;
  for (const listener of listeners) listener();
}

/** A fetch that failed before any answer (fetch rejects with a TypeError: "Failed to fetch"). */
export const isNetworkError = (error: unknown) => error instanceof TypeError;

export function noteError(error: unknown) {
  if (isNetworkError(error)) set(true);
}

export function noteAnswer() {
  set(false);
}

export function useConnectionLost(): boolean {
  return useSyncExternalStore(
    (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    () => lost,
  );
}

/** Asks the server's health endpoint (no login needed); true when it answers at all. */
export async function probe(): Promise<boolean> {
  try {
    await fetch("/api/v2/monitor/health", { cache: "no-store" });
    noteAnswer();
    return true;
  } catch (error) {
    noteError(error);
    return false;
  }
}
