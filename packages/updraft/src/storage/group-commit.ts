/**
 * Group commit: writes submitted while one batch is being written wait and go together in the next,
 * so a stream of small writes costs one transaction per batch instead of one per write, and a lone
 * write goes at once (no timer). A batch that fails for a reason of its own data (not a lost
 * connection, which the callers retry) is written again item by item, so one bad item fails alone.
 */
import { isTransientDbError } from "./retry.ts";

interface Waiting<I, O> {
  item: I;
  resolve: (value: O) => void;
  reject: (error: unknown) => void;
}

export class GroupCommit<I, O> {
  readonly #many: (items: I[]) => Promise<O[]>;
  readonly #one: (item: I) => Promise<O>;
  readonly #max: number;
  readonly #spacingMs: number;
  #waiting: Waiting<I, O>[] = [];
  #writing = false;
  #lastStart = -Infinity;

  /**
   * `many` writes a batch (answers in order); `one` writes a single item (also the fallback).
   * `spacingMs`: batches start at least this far apart. A write after a quiet moment goes at once;
   * in a stream, what arrives within the spacing joins one batch (where a write takes no time of
   * its own to gather others behind it: SQLite's are synchronous).
   */
  constructor(o: {
    many: (items: I[]) => Promise<O[]>;
    one: (item: I) => Promise<O>;
    max?: number;
    spacingMs?: number;
  }) {
    this.#many = o.many;
    this.#one = o.one;
    this.#max = o.max ?? 1000;
    this.#spacingMs = o.spacingMs ?? 0;
  }

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.#waiting.push({ item, resolve, reject });
      if (this.#writing) return;
      this.#writing = true;
      // After the current turn of the event loop: what else arrived in it joins the batch.
      const wait = this.#lastStart + this.#spacingMs - performance.now();
      if (wait > 0) setTimeout(() => void this.#drain(), wait);
      else setImmediate(() => void this.#drain());
    });
  }

  async #drain(): Promise<void> {
    while (this.#waiting.length > 0) {
      this.#lastStart = performance.now();
      const batch = this.#waiting.splice(0, this.#max);
      if (batch.length === 1) await this.#single(batch[0]!);
      else
        try {
          const answers = await this.#many(batch.map((w) => w.item));
          batch.forEach((w, i) => w.resolve(answers[i]!));
        } catch (error) {
          if (isTransientDbError(error)) batch.forEach((w) => w.reject(error));
          else for (const w of batch) await this.#single(w);
        }
    }
    this.#writing = false;
  }

  async #single(w: Waiting<I, O>): Promise<void> {
    try {
      w.resolve(await this.#one(w.item));
    } catch (error) {
      w.reject(error);
    }
  }
}
