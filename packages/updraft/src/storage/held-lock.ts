/**
 * A lock held on a connection of its own, taken again after the connection is lost. The dialects
 * give it how to connect and lock; this keeps it held, pings it so a dead connection is noticed
 * within seconds, and reconnects with backoff.
 */
import type { HeldOwnerLock } from "./dialect.ts";

export interface LockConnection {
  /** Resolves when the lock is held; the connection calls `lost` once if it dies later. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export function holdWithReconnect(
  connect: (lost: (error: Error) => void) => Promise<LockConnection>,
  what: string,
  log: (message: string) => void = () => undefined,
): Promise<HeldOwnerLock> {
  let conn: LockConnection | undefined;
  let since: number | null = null;
  let released = false;
  let timer: NodeJS.Timeout | undefined;
  let generation = 0;

  const lost = (gen: number) => (error: Error) => {
    if (gen !== generation || released) return;
    generation++;
    since = null;
    const dead = conn;
    conn = undefined;
    void dead?.close().catch(() => undefined);
    log(`${what}: its connection was lost (${error.message}); taking it again`);
    schedule(250);
  };
  const schedule = (ms: number) => {
    clearTimeout(timer);
    if (released) return;
    timer = setTimeout(() => void attempt(Math.min(ms * 2, 2_000)), ms);
    timer.unref();
  };
  const attempt = async (nextDelay: number): Promise<boolean> => {
    if (released) return false;
    const gen = generation;
    try {
      conn = await connect(lost(gen));
      if (released || gen !== generation) {
        await conn.close().catch(() => undefined);
        return false;
      }
      since = Date.now();
      pingLoop(gen);
      return true;
    } catch (error) {
      if (gen === generation) {
        log(`${what}: could not be taken (${(error as Error).message}); trying again`);
        schedule(nextDelay);
      }
      return false;
    }
  };
  // A connection the network dropped silently is noticed by a failing ping, not only by an error event.
  const pingLoop = (gen: number) => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (gen !== generation || !conn) return;
      conn.ping().then(
        () => pingLoop(gen),
        (error: Error) => lost(gen)(error),
      );
    }, 2_000);
    timer.unref();
  };

  return attempt(250).then((): HeldOwnerLock => ({
    heldSince: () => since,
    async release() {
      released = true;
      clearTimeout(timer);
      since = null;
      await conn?.close().catch(() => undefined);
      conn = undefined;
    },
  }));
}
