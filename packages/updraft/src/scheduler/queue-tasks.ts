/** Claims as many scheduled task instances as the executor has room for and starts them. */
import type { Executor } from "../executor/executor.ts";
import type { Database } from "../storage/database.ts";
import { claimTaskInstances } from "../storage/sql/claim-task-instances.ts";

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
  for (const ti of claimed) executor.execute({ ...ti, owner: o.jobId });
  return claimed.length;
}
