/**
 * Whether the metadata database can be reached, known by every process that uses it. The drivers
 * report each lost or refused connection here; one failure is only a suspicion (the server may
 * have closed one idle connection), so a probe (`select 1`, short timeout) decides. A failed probe
 * makes the database unreachable: listeners are told (services log it, the webserver answers 503
 * at once), and probes go on with backoff until one succeeds, which makes it reachable again. Nothing
 * here ends a process: an outage is a state, not an error.
 */
import { isDbConnectionError } from "./retry.ts";

export type HealthEvent =
  | { type: "unreachable"; error: unknown }
  | { type: "still-unreachable"; error: unknown; downMs: number; attempts: number }
  | { type: "reachable"; downMs: number; attempts: number };

export interface DatabaseHealth {
  /** False from a failed probe until a probe succeeds. */
  readonly reachable: boolean;
  /** Why it is unreachable (the last probe's error), or null. */
  readonly lastError: unknown;
  /** A driver saw a connection fail: probe now (unless one is running) to tell a blip from an outage. */
  suspect(error: unknown): void;
  /** Probes now (or joins the probe under way); the answer also updates `reachable`. */
  check(): Promise<boolean>;
  /** Told of every change (and, while down, of every `stillEveryMs`); returns an unsubscribe. */
  on(listener: (event: HealthEvent) => void): () => void;
  /** Stops probing (the database is being closed). */
  close(): void;
}

export interface HealthOptions {
  /** One probe: resolves when the database answered. */
  probe: () => Promise<unknown>;
  /** Each probe's time limit; a partition makes a query hang rather than fail. Default 2 s. */
  probeTimeoutMs?: number;
  /** Probes while down back off from `minDelayMs` to `maxDelayMs`. Defaults 250 ms and 5 s. */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** While down, a "still unreachable" event this often. Default 30 s. */
  stillEveryMs?: number;
}

export function databaseHealth(o: HealthOptions): DatabaseHealth {
  const listeners = new Set<(event: HealthEvent) => void>();
  const emit = (event: HealthEvent) => {
    for (const listener of listeners) {
      try {
        listener(event);
      } catch {
        // A listener that throws must not stop the others, nor the probing.
      }
    }
  };
  let reachable = true;
  let lastError: unknown = null;
  let downAt = 0;
  let attempts = 0;
  let lastStill = 0;
  let probing: Promise<boolean> | null = null;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const wentDown = (error: unknown) => {
    lastError = error;
    if (!reachable) return;
    reachable = false;
    downAt = lastStill = Date.now();
    attempts = 1;
    emit({ type: "unreachable", error });
    schedule();
  };
  const cameBack = () => {
    if (reachable) return;
    reachable = true;
    lastError = null;
    clearTimeout(timer);
    emit({ type: "reachable", downMs: Date.now() - downAt, attempts });
  };
  const check = (): Promise<boolean> => {
    probing ??= withTimeout(o.probe(), o.probeTimeoutMs ?? 2000)
      .then(
        () => (cameBack(), true),
        (error: unknown) => (wentDown(error), false),
      )
      .finally(() => (probing = null));
    return probing;
  };
  function schedule() {
    if (closed || reachable) return;
    const min = o.minDelayMs ?? 250;
    const exp = Math.min(o.maxDelayMs ?? 5000, min * 2 ** Math.min(attempts - 1, 16));
    timer = setTimeout(() => void retry(), exp / 2 + Math.random() * (exp / 2));
    timer.unref();
  }
  async function retry() {
    attempts++;
    if (await check()) return;
    const now = Date.now();
    if (now - lastStill >= (o.stillEveryMs ?? 30_000)) {
      lastStill = now;
      emit({ type: "still-unreachable", error: lastError, downMs: now - downAt, attempts });
    }
    schedule();
  }

  return {
    get reachable() {
      return reachable;
    },
    get lastError() {
      return lastError;
    },
    suspect(error) {
      if (closed || !reachable || !isDbConnectionError(error)) return;
      void check();
    },
    check,
    on(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      closed = true;
      clearTimeout(timer);
    },
  };
}

/** `promise`, or a rejection after `ms`: a probe in a partition hangs instead of failing. */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(Object.assign(new Error(`no answer within ${ms} ms`), { code: "ETIMEDOUT" })),
      ms,
    );
    timer.unref();
  });
  // The abandoned probe may still fail later: that is expected, not an unhandled rejection.
  promise.catch(() => undefined);
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}
