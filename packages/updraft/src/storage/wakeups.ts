/**
 * Waking the schedulers when work appears, so a triggered run or a cleared task starts within
 * milliseconds instead of at the next full iteration ([scheduler] loop_interval). Schedulers in this
 * process hear it at once; those elsewhere through the database (the dialect's `wakeups`: NOTIFY on
 * PostgreSQL, data_version on SQLite, a poll of the newest run on MySQL). Polling stays the fallback:
 * a lost wake-up costs at most one loop interval.
 */
import type { Database } from "./database.ts";

const listeners = new WeakMap<Database, Set<() => void>>();

/** Call after the write that made work has committed. Never throws: a lost wake-up costs latency only. */
export async function wakeSchedulers(database: Database): Promise<void> {
  for (const listener of listeners.get(database) ?? []) listener();
  await database.adapter.wakeups.notify(database.db as never).catch(() => undefined);
}

/** Calls `onWake` whenever work may have appeared; returns the stop. */
export async function watchForWork(
  database: Database,
  onWake: () => void,
  log?: (message: string) => void,
): Promise<() => Promise<void>> {
  let set = listeners.get(database);
  if (!set) listeners.set(database, (set = new Set()));
  set.add(onWake);
  const stop = await database.adapter.wakeups.watch(database.db as never, onWake, log);
  return async () => {
    set.delete(onWake);
    await stop();
  };
}
