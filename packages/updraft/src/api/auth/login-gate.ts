/**
 * What keeps a flood of logins from taking the webserver down. scrypt runs on libuv's thread pool,
 * which file reads share: unbounded, 200 guesses at once leave the UI's files and DAG sources
 * waiting behind them for seconds. So at most HASHING password checks run at once and at most
 * WAITING wait (beyond that: 429 at once), and each client address may fail `perMinute` times a
 * minute across every name it tries (password spraying) before it gets 429 too.
 */
import { HttpError } from "../errors.ts";

const HASHING = 2;
const WAITING = 32;
const WINDOW_MS = 60_000;
/** Addresses remembered at most (a flood from many addresses must not grow memory without bound). */
const ADDRESSES = 10_000;

export class LoginGate {
  readonly #perMinute: number;
  #running = 0;
  readonly #queue: (() => void)[] = [];
  /** Failures per client address in the current window. */
  readonly #failures = new Map<string, { count: number; since: number }>();

  constructor(perMinute: number) {
    this.#perMinute = perMinute;
  }

  /**
   * Counts an attempt from `address` before its password is checked, or refuses it (429 with
   * Retry-After) when the address has used up its minute. Counting first holds the limit under
   * concurrency: a burst cannot pass the check while earlier attempts are still being hashed.
   * A login that succeeds gives its attempt back (succeeded).
   */
  admit(address: string, now = Date.now()): void {
    const seen = this.#failures.get(address);
    if (!seen || now - seen.since >= WINDOW_MS) {
      if (!seen && this.#failures.size >= ADDRESSES) this.#forgetOld(now);
      this.#failures.set(address, { count: 1, since: now });
      return;
    }
    if (seen.count < this.#perMinute) {
      seen.count++;
      return;
    }
    const seconds = Math.ceil((seen.since + WINDOW_MS - now) / 1000);
    throw tooMany(`Too many failed logins from ${address}: try again in ${seconds} s`, seconds);
  }

  /** The attempt admitted for `address` logged in: it does not count as a failure. */
  succeeded(address: string): void {
    const seen = this.#failures.get(address);
    if (seen && seen.count > 0) seen.count--;
  }

  /** 429 at once when the hashing queue is full: checked before a login touches the database too. */
  assertRoom(): void {
    if (this.#running >= HASHING && this.#queue.length >= WAITING)
      throw tooMany("Too many logins at once: try again in 1 s", 1);
  }

  /** Runs a password check when a hashing slot is free; 429 when too many already wait. */
  async hash<T>(check: () => Promise<T>): Promise<T> {
    if (this.#running >= HASHING) {
      if (this.#queue.length >= WAITING) throw tooMany("Too many logins at once: try again in 1 s", 1);
      await new Promise<void>((resolve) => this.#queue.push(resolve));
    } else this.#running++;
    try {
      return await check();
    } finally {
      const next = this.#queue.shift();
      if (next) next();
      else this.#running--;
    }
  }

  #forgetOld(now: number): void {
    for (const [address, seen] of this.#failures)
      if (now - seen.since >= WINDOW_MS) this.#failures.delete(address);
    // Still full: a flood from many addresses; forget the oldest half rather than grow.
    if (this.#failures.size >= ADDRESSES)
      [...this.#failures.keys()].slice(0, ADDRESSES / 2).forEach((a) => this.#failures.delete(a));
  }
}

export function tooMany(detail: string, retryAfterSeconds: number): HttpError {
  return new HttpError(429, detail, { "retry-after": String(Math.max(1, retryAfterSeconds)) });
}
