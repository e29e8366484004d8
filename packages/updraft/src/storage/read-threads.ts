/**
 * Where a SQLite read runs. The API's requests read through reader threads (a slow list must not
 * stop the process: in `standalone`, the scheduler shares it); everything else, the scheduler's loop
 * first, reads on the main connection, where a small read costs no message between threads and a
 * process that never serves the API starts no thread. PostgreSQL and MySQL ignore this: their
 * drivers never block the event loop.
 */
import { AsyncLocalStorage } from "node:async_hooks";

const offThread = new AsyncLocalStorage<true>();

/** Runs `then` (and all it starts) with its SQLite reads off the main thread. */
export function readOffThread<T>(then: () => T): T {
  return offThread.run(true, then);
}

export const readsOffThread = (): boolean => offThread.getStore() === true;
