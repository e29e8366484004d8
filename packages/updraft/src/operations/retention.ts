/**
 * `[database] retention_days`: a running scheduler deletes what `db clean` would for everything older
 * than that many days, a minute after it starts and then every hour, without archiving (an archive
 * would keep the very rows the setting is there to be rid of). One scheduler at a time does it: the
 * pass holds a lease, and keeps it for an hour after, so the others skip their passes meanwhile.
 * Batches are small and paused between, so the scheduler's own statements (on SQLite, queued behind
 * the same connection) wait a few milliseconds at most. See ADR.md O6.
 */
import type { Config } from "../config/load.ts";
import type { Logger } from "../logging.ts";
import type { Database } from "../storage/database.ts";
import { nowIso } from "../storage/database.ts";
import { leaseStore, newLeaseHolder } from "../storage/leases.ts";
import { cleanMetadata, planClean, type CleanResult } from "./db-clean.ts";

export const RETENTION_LEASE = "metadata_retention";
const DAY_MS = 86_400_000;
const FIRST_PASS_AFTER_MS = 60_000;
const EVERY_MS = 3_600_000;
/** Renewed before every batch: a holder that died is replaced after this long. */
const LEASE_MS = 600_000;
/** A batch of 200 runs took 25 ms on SQLite (bench/db-clean.ts), a fifth of `db clean`'s default. */
const BATCH_SIZE = 200;
const PAUSE_MS = 100;

export interface RetentionPass {
  database: Database;
  retentionDays: number;
  /** This process as the lease's holder (`newLeaseHolder()`). */
  holder: string;
  now?: () => number;
  signal?: AbortSignal;
  pauseMs?: number;
}

/** One pass: what was deleted, or null when another scheduler holds the lease. */
export async function applyRetention(o: RetentionPass): Promise<CleanResult["counts"] | null> {
  const clock = o.now ?? Date.now;
  const leases = leaseStore(o.database);
  const holdFor = (ms: number) =>
    leases.acquire(RETENTION_LEASE, o.holder, nowIso(clock), new Date(clock() + ms).toISOString());
  if (!(await holdFor(LEASE_MS))) return null;
  // The lease can only be lost by a pass that stalled past LEASE_MS: then another took over.
  const lost = new AbortController();
  const signal = o.signal ? AbortSignal.any([o.signal, lost.signal]) : lost.signal;
  const before = new Date(clock() - o.retentionDays * DAY_MS).toISOString();
  const { counts } = await cleanMetadata(
    o.database,
    planClean({ before, archive: false, batchSize: BATCH_SIZE }),
    {
      signal,
      beforeBatch: async () => {
        await new Promise((resolve) => setTimeout(resolve, o.pauseMs ?? PAUSE_MS));
        if (!(await holdFor(LEASE_MS))) lost.abort();
      },
    },
  );
  if (!lost.signal.aborted) await holdFor(EVERY_MS);
  return counts;
}

export interface RetentionService {
  /** Stops the timer, and waits for a pass under way to finish its batch. */
  stop(): Promise<void>;
}

/** The scheduler's side: passes on a timer while `[database] retention_days` > 0. */
export function startRetention(o: { config: Config; database: Database; log: Logger }): RetentionService {
  const retentionDays = o.config.values.database.retention_days;
  if (retentionDays <= 0) return { stop: async () => {} };
  const holder = newLeaseHolder();
  const stopping = new AbortController();
  const pass = async () => {
    const started = Date.now();
    try {
      const counts = await applyRetention({
        database: o.database,
        retentionDays,
        holder,
        signal: stopping.signal,
      });
      if (counts && Object.values(counts).some((n) => n > 0))
        o.log.info({ retentionDays, deleted: counts, ms: Date.now() - started }, "old metadata deleted");
    } catch (error) {
      o.log.error({ err: error }, "deleting old metadata failed; the next pass retries");
    }
  };
  // A pass still under way when the next is due (a first, large backlog) is not doubled.
  let current: Promise<void> | null = null;
  const tick = () => void (current ??= pass().finally(() => (current = null)));
  const first = setTimeout(tick, FIRST_PASS_AFTER_MS);
  const timer = setInterval(tick, EVERY_MS);
  return {
    async stop() {
      clearTimeout(first);
      clearInterval(timer);
      stopping.abort();
      await current;
      // Another scheduler need not wait out the hour this one's lease still had.
      await leaseStore(o.database)
        .release(RETENTION_LEASE, holder)
        .catch(() => {});
    },
  };
}
