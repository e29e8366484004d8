/** Frame-time statistics from requestAnimationFrame deltas (60 Hz: a frame is ~16.7 ms). */

export interface FrameStats {
  frames: number;
  p50: number;
  p95: number;
  max: number;
  /** Frames the display would have shown that were missed: a 50 ms delta drops two. */
  dropped: number;
}

const FRAME = 1000 / 60;

export function frameStats(deltas: number[]): FrameStats {
  const sorted = [...deltas].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
  const dropped = deltas.reduce((sum, d) => sum + Math.max(0, Math.round(d / FRAME) - 1), 0);
  return { frames: deltas.length, p50: at(0.5), p95: at(0.95), max: sorted[sorted.length - 1] ?? 0, dropped };
}
