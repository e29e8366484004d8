/** Claims as many scheduled task instances as the executor has room for and starts them. */
import type { Executor } from "../executor/executor.ts";
import type { Database } from "../storage/database.ts";
import type { Transaction } from "kysely";
import type { Tables } from "../storage/schema.ts";
import {
  claimTaskInstances,
  claimWithinCaps,
  type ClaimedTaskInstance,
} from "../storage/sql/claim-task-instances.ts";

/**
 * The claim for `queueTasks`, to run inside another transaction of the iteration (the last run's
 * examination); undefined when the executor has no room.
 */
export function claimer(
  database: Database,
  executor: Executor,
  o: { now: string; jobId: number; parallelism: number },
) {
  const room = executor.freeSlots();
  if (room === 0) return undefined;
  return (trx: Transaction<Tables>) =>
    claimWithinCaps(trx, database, { jobId: o.jobId, limit: room, parallelism: o.parallelism, now: o.now });
}

/** Hands claimed task instances to the executor, owned by this scheduler's job. */
export function execute(executor: Executor, claimed: ClaimedTaskInstance[], jobId: number): number {
  for (const ti of claimed) executor.execute({ ...ti, owner: jobId });
  return claimed.length;
}

export async function queueTasks(
  database: Database,
  executor: Executor,
  o: { now: string; jobId: number; parallelism: number },
): Promise<number> {
  const room = executor.freeSlots();
  if (room === 0) return 0;
  const claimed = await claimTaskInstances(database, {
    jobId: o.jobId,
    limit: room,
    parallelism: o.parallelism,
    now: o.now,
  });
  return execute(executor, claimed, o.jobId);
}
