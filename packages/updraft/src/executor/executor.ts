/**
 * The executor interface: what runs claimed task instances. The local executor runs them on this
 * machine; a distributed one (BullMQ, a later issue) will hand them to workers. Both use the same task
 * runner (run-task-instance.ts), which records every state change in the database itself.
 */
import type { ClaimedTaskInstance } from "../storage/sql/claim-task-instances.ts";
import type { TaskInstanceKey } from "../storage/task-instances.ts";

/** A claimed try and its owner: the scheduler job whose claim it is, which fences its writes. */
export type ExecutableTry = ClaimedTaskInstance & { owner: number };

export interface Executor {
  readonly name: string;
  /** How many more task instances it can take now. */
  freeSlots(): number;
  /** Starts a claimed (queued) task instance; returns at once. */
  execute(ti: ExecutableTry): void;
  /** Called when a task instance's try has ended and its state is recorded. */
  onFinished(listener: (ti: ClaimedTaskInstance) => void): void;
  /** The task instances running here, for heartbeats. */
  running(): TaskInstanceKey[];
  /** Stops a running task instance (cleared, or its run ended). */
  cancel(key: TaskInstanceKey): boolean;
  /** Lets running tasks finish within `graceMs`, then stops the rest. */
  stop(graceMs: number): Promise<void>;
}

export { keyString } from "../storage/task-instances.ts";
