/**
 * What occupies a slot, defined once: the claim enforces parallelism, maxActiveTasks and pools with it,
 * and every view of pool usage (API, metrics) should count the same states (see ../ADR.md S8).
 */
import type { TaskInstanceState } from "../../core/states.ts";

/**
 * Task instances whose process exists or is about to: queued (claimed, starting), running, and
 * restarting (cleared while running: its process is still being stopped). Each takes one slot of
 * `parallelism` and of its DAG's maxActiveTasks, and `pool_slots` slots of its pool.
 */
export const OCCUPYING_STATES = [
  "queued",
  "running",
  "restarting",
] as const satisfies readonly TaskInstanceState[];

/** A pool created with include_deferred also counts its deferred task instances (Airflow's rule). */
export function poolOccupyingStates(includeDeferred: boolean): readonly TaskInstanceState[] {
  return includeDeferred ? [...OCCUPYING_STATES, "deferred"] : OCCUPYING_STATES;
}

/** Every state that may occupy something: what the claim reads once. */
export const MAY_OCCUPY_STATES: readonly TaskInstanceState[] = poolOccupyingStates(true);
