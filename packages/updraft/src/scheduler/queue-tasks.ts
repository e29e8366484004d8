/**
 * Claims as many scheduled task instances as the executor has room for and starts them. A claim
 * happens in one of three places: an iteration's last transaction (after examining the runs whose
 * tasks finished), an iteration of its own, or the transaction that records tries' ends (the
 * "mini scheduler": a freed slot is filled in the same commit). They may overlap, so each reserves
 * the executor slots it claims for until its claims are handed over: together they never claim more
 * than the executor has room for.
 */
import { keyString, type Executor } from "../executor/executor.ts";
import type { TaskInstanceKey } from "../storage/task-instances.ts";
import type { Database } from "../storage/database.ts";
import type { Transaction } from "kysely";
import type { Tables } from "../storage/schema.ts";
import {
  claimTaskInstances,
  claimWithinCaps,
  type ClaimedTaskInstance,
} from "../storage/sql/claim-task-instances.ts";
import type { EndsFollowUp } from "../storage/try-batches.ts";

export interface ClaimContext {
  database: Database;
  executor: Executor;
  jobId: () => number;
  parallelism: number;
  now: () => string;
  /** Whether this scheduler may start work now (it runs, holds its liveness lock and, on SQLite, the lease). */
  mayClaim: () => boolean;
}

export class Claims {
  readonly #c: ClaimContext;
  #reserved = 0;
  /**
   * Tries whose ends' transaction claimed for their slots while the executor still holds them (it
   * gives a slot back once its try's caller resumes): their slots are counted once, as reservations.
   */
  #credited = new Set<string>();
  /**
   * Whether scheduled task instances are probably left over: the last claim filled all the room it
   * had, or an iteration had no room. Ends claim only then, so a chain (one ready task at a time,
   * claimed by the iteration that made it ready) pays no claim in its ends' transaction.
   */
  #moreReady = false;

  constructor(context: ClaimContext) {
    this.#c = context;
  }

  /** Reserves the executor's free slots, and those of `ending` (tries whose end is being recorded). */
  #reserve(ending: readonly TaskInstanceKey[] = []): number {
    for (const key of ending) this.#credited.add(keyString(key));
    const held = new Set(this.#c.executor.running().map(keyString));
    for (const key of this.#credited) if (!held.has(key)) this.#credited.delete(key);
    const room = Math.max(0, this.#c.executor.freeSlots() + this.#credited.size - this.#reserved);
    this.#reserved += room;
    return room;
  }

  #claimIn(trx: Transaction<Tables>, room: number): Promise<ClaimedTaskInstance[]> {
    return claimWithinCaps(trx, this.#c.database, this.#options(room));
  }

  #options(limit: number) {
    return { jobId: this.#c.jobId(), limit, parallelism: this.#c.parallelism, now: this.#c.now() };
  }

  /** Hands claimed task instances to the executor, owned by this scheduler's job, and frees `room`. */
  #hand(claimed: ClaimedTaskInstance[], room: number): number {
    this.#reserved -= room;
    if (room > 0) this.#moreReady = claimed.length === room;
    const owner = this.#c.jobId();
    for (const ti of claimed) this.#c.executor.execute({ ...ti, owner });
    return claimed.length;
  }

  /**
   * An iteration's claim. `examine` runs the iteration's examination, given the claim to make in its
   * last transaction (undefined: no room); it answers what that claim took, or undefined when it
   * did not call it (no run examined), and then the claim is made on its own.
   */
  async inIteration(
    examine: (
      claim?: (trx: Transaction<Tables>) => Promise<ClaimedTaskInstance[]>,
    ) => Promise<ClaimedTaskInstance[] | undefined>,
  ): Promise<number> {
    const room = this.#c.mayClaim() ? this.#reserve() : 0;
    if (room === 0) {
      await examine(undefined);
      this.#moreReady = true;
      return 0;
    }
    let claimed: ClaimedTaskInstance[] | undefined;
    try {
      claimed = await examine((trx) => this.#claimIn(trx, room));
      if (!claimed && this.#c.mayClaim())
        claimed = await claimTaskInstances(this.#c.database, this.#options(room));
    } catch (error) {
      this.#reserved -= room;
      throw error;
    }
    return this.#hand(claimed ?? [], room);
  }

  /** The claim in the transaction that records this scheduler's tries' ends (see EndsFollowUp). */
  followUp(): EndsFollowUp {
    return {
      run: async (trx, ended) => {
        if (!this.#moreReady || !this.#c.mayClaim()) return undefined;
        const room = this.#reserve(ended);
        const undo = () => {
          this.#reserved -= room;
          for (const key of ended) this.#credited.delete(keyString(key));
        };
        let claimed: ClaimedTaskInstance[] = [];
        try {
          if (room > 0) claimed = await this.#claimIn(trx, room);
        } catch (error) {
          undo();
          throw error;
        }
        return {
          // After the ended tries gave their slots back (their callers resume first).
          committed: () => setImmediate(() => this.#hand(claimed, room)),
          failed: undo,
        };
      },
    };
  }
}
