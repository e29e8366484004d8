/**
 * What occupies a slot, as the claim reads it: the definition itself is core's (ACTIVE_STATES and
 * poolSlotStates in ../../core/states.ts), shared with the API, explain and metrics (see ../ADR.md S8).
 */
import { ACTIVE_STATES, poolSlotStates, type TaskInstanceState } from "../../core/states.ts";

export const OCCUPYING_STATES: readonly TaskInstanceState[] = ACTIVE_STATES;
export const poolOccupyingStates: (includeDeferred: boolean) => readonly TaskInstanceState[] = poolSlotStates;
/** Every state that may occupy something: what the claim reads once. */
export const MAY_OCCUPY_STATES: readonly TaskInstanceState[] = poolSlotStates(true);
