/**
 * One timer for every DateTimeTrigger of a triggerer: a binary heap of moments and a single
 * setTimeout for the earliest. 10,000 waiting triggers cost 10,000 small heap entries, not 10,000
 * Node timers. A cancelled entry is dropped when it reaches the top (lazy deletion).
 */
interface Entry {
  at: number;
  seq: number;
  fire: () => void;
  cancelled: boolean;
}

/** Node's setTimeout holds at most 2^31 - 1 ms; a later moment re-arms on the way. */
const MAX_DELAY_MS = 2 ** 31 - 1;

export class TimerHeap {
  readonly #heap: Entry[] = [];
  #timer: NodeJS.Timeout | null = null;
  #armedFor = Infinity;
  #seq = 0;
  readonly #clock: () => number;

  constructor(clock: () => number = Date.now) {
    this.#clock = clock;
  }

  /** Calls `fire` at `at` (ms since the epoch; at once when past); returns the cancel. */
  at(at: number, fire: () => void): () => void {
    const entry: Entry = { at, seq: this.#seq++, fire, cancelled: false };
    this.#push(entry);
    if (at < this.#armedFor) this.#arm();
    return () => {
      entry.cancelled = true;
    };
  }

  /** Drops every entry (the triggerer is stopping). */
  clear(): void {
    this.#heap.length = 0;
    this.#arm();
  }

  /** Entries held (cancelled ones not yet dropped included). */
  get size(): number {
    return this.#heap.length;
  }

  #arm(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#armedFor = Infinity;
    const top = this.#heap[0];
    if (!top) return;
    const delay = Math.min(Math.max(top.at - this.#clock(), 0), MAX_DELAY_MS);
    this.#armedFor = top.at;
    this.#timer = setTimeout(() => this.#due(), delay);
    // Waiting triggers alone do not keep a stopping triggerer alive.
    this.#timer.unref();
  }

  #due(): void {
    this.#timer = null;
    const now = this.#clock();
    while (this.#heap.length > 0 && this.#heap[0]!.at <= now) {
      const entry = this.#pop();
      if (!entry.cancelled) entry.fire();
    }
    this.#arm();
  }

  #less(a: Entry, b: Entry): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  #push(entry: Entry): void {
    const h = this.#heap;
    h.push(entry);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  #pop(): Entry {
    const h = this.#heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.#less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.#less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}
