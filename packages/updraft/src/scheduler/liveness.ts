/**
 * Instant liveness: every scheduler holds a lock named after its job on a connection of its own
 * (storage/dialect.ts OwnerLocks); the database drops it when the process dies. Each scheduler looks
 * at the others' locks a few times a second, and a job whose lock is free twice, 0.4 s
 * apart, is dead: its work is taken over at once instead of after the heartbeat timeout.
 *
 * Two guards keep a live scheduler from being declared dead:
 * - after this scheduler (re)took its own lock (its start, a database restart), it judges nobody for
 *   `graceMs`: the others lost their locks in the same restart and are taking them again;
 * - a job younger than `confirmMs` is not judged (it takes its lock just after registering), and a
 *   scheduler claims no work while it does not hold its lock.
 */
import type { Logger } from "../logging.ts";
import type { Database } from "../storage/database.ts";
import type { HeldOwnerLock } from "../storage/dialect.ts";
import { jobStore } from "../storage/jobs.ts";

export interface OwnerWatchOptions {
  database: Database;
  log: Logger;
  graceMs?: number;
  confirmMs?: number;
}

export class OwnerWatch {
  readonly #o: Required<OwnerWatchOptions>;
  #lock: HeldOwnerLock | undefined;
  #self = 0;
  /** Jobs seen without their lock, and when first. */
  #suspects = new Map<number, number>();

  constructor(o: OwnerWatchOptions) {
    this.#o = { graceMs: 5_000, confirmMs: 400, ...o };
  }

  /** Takes the lock of job `self` (again after a connection loss, by itself). */
  async hold(self: number): Promise<void> {
    await this.#lock?.release();
    this.#self = self;
    this.#suspects.clear();
    this.#lock = await this.#o.database.adapter.ownerLocks.hold(self, (message) => this.#o.log.warn(message));
  }

  /** True while this process holds its lock: only then may it claim work. */
  holds(): boolean {
    return this.#lock?.heldSince() != null;
  }

  /** Since when the lock has been held without a break (ms), or null. */
  heldSince(): number | null {
    return this.#lock?.heldSince() ?? null;
  }

  /** The jobs found dead now (lock free at two looks `confirmMs` apart). */
  async dead(now = Date.now()): Promise<number[]> {
    const since = this.heldSince();
    if (since === null || now - since < this.#o.graceMs) return [];
    const candidates = await jobStore(this.#o.database).running("scheduler", this.#self);
    const judged = candidates.filter((j) => now - Date.parse(j.start_date) >= this.#o.confirmMs);
    const free = await this.#o.database.adapter.ownerLocks.free(
      this.#o.database.db as never,
      judged.map((j) => j.id),
    );
    const suspects = new Map(free.map((id) => [id, this.#suspects.get(id) ?? now]));
    this.#suspects = suspects;
    return free.filter((id) => now - suspects.get(id)! >= this.#o.confirmMs);
  }

  async release(): Promise<void> {
    await this.#lock?.release();
    this.#lock = undefined;
  }
}
