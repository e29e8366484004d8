/**
 * Masks secrets (connection passwords, secret variables) in task output before it is written:
 * each registered value, and its URL-encoded form, becomes "***".
 */
export class Masker {
  #secrets: string[] = [];
  #pattern: RegExp | null = null;

  /** Values shorter than 3 characters are not masked: they would mask ordinary words. */
  add(...values: (string | null | undefined)[]): this {
    for (const value of values) {
      if (!value || value.length < 3) continue;
      for (const form of new Set([value, encodeURIComponent(value)]))
        if (!this.#secrets.includes(form)) this.#secrets.push(form);
    }
    // Longest first, so a secret containing another is masked whole.
    const escaped = [...this.#secrets]
      .sort((a, b) => b.length - a.length)
      .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
    this.#pattern = escaped.length ? new RegExp(escaped.join("|"), "g") : null;
    return this;
  }

  /** The registered values that occur in `text` (what a worker must mask in what it is sent). */
  found(text: string): string[] {
    return this.#secrets.filter((s) => text.includes(s));
  }

  mask(text: string): string {
    return this.#pattern ? text.replace(this.#pattern, "***") : text;
  }

  get longest(): number {
    return this.#secrets.reduce((n, s) => Math.max(n, s.length), 0);
  }
}
