/**
 * Durations as users write them: "30s", "5m", "1h30m", "1d", "250ms", or a number of seconds.
 * Stored as seconds (a float, so "250ms" survives).
 */
export type DurationInput = string | number;

const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/gy;

export function parseDuration(input: DurationInput): number {
  if (typeof input === "number") {
    if (!Number.isFinite(input) || input < 0)
      throw new RangeError(`a duration must be >= 0 seconds, got ${input}`);
    return input;
  }
  const text = input.trim().replace(/\s+/g, "");
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  let total = 0;
  PART.lastIndex = 0;
  let matched = 0;
  for (let m = PART.exec(text); m; m = PART.exec(text)) {
    total += Number(m[1]) * UNIT_SECONDS[m[2]!]!;
    matched = PART.lastIndex;
  }
  if (text.length === 0 || matched !== text.length) {
    throw new RangeError(
      `"${input}" is not a duration: write e.g. "30s", "5m", "1h30m", "1d" or a number of seconds`,
    );
  }
  return total;
}

/** Memory sizes: "512MiB", "1GiB", "256M", "2G", or a number of MiB. Stored as MiB. */
const SIZE_MIB: Record<string, number> = {
  k: 1 / 1024,
  kib: 1 / 1024,
  m: 1,
  mib: 1,
  mb: 1,
  g: 1024,
  gib: 1024,
  gb: 1024,
};

export function parseMemorySize(input: string | number): number {
  if (typeof input === "number") {
    if (!Number.isFinite(input) || input <= 0)
      throw new RangeError(`a memory size must be > 0 MiB, got ${input}`);
    return input;
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]+)?\s*$/i.exec(input);
  const factor = m ? SIZE_MIB[(m[2] ?? "mib").toLowerCase()] : undefined;
  if (!m || factor === undefined) {
    throw new RangeError(`"${input}" is not a memory size: write e.g. "512MiB", "1GiB" or a number of MiB`);
  }
  return Number(m[1]) * factor;
}

export function formatDuration(seconds: number): string {
  if (seconds < 1) return `${Math.round(seconds * 1000)}ms`;
  const parts: string[] = [];
  let rest = Math.round(seconds);
  for (const [unit, size] of [
    ["d", 86400],
    ["h", 3600],
    ["m", 60],
    ["s", 1],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join("") || "0s";
}
