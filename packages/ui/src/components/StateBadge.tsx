/** A task instance's or run's state as a coloured label; the colours are the theme's --state-* variables. */
export const STATES = [
  "success",
  "running",
  "failed",
  "upstream_failed",
  "skipped",
  "up_for_retry",
  "up_for_reschedule",
  "queued",
  "scheduled",
  "deferred",
  "removed",
  "restarting",
] as const;

export const LIVE_STATES = new Set([
  "queued",
  "running",
  "scheduled",
  "up_for_retry",
  "up_for_reschedule",
  "deferred",
  "restarting",
]);

/** The CSS colour of a state (a variable of the current theme), for SVG fills and canvas-free drawing. */
export const stateColor = (state: string | null | undefined) =>
  `var(--state-${state ?? "none"}, var(--state-none))`;

export function StateBadge({ state }: { state: string | null | undefined }) {
  return <span className={`state ${state ?? "none"}`}>{(state ?? "no status").replace(/_/g, " ")}</span>;
}
