/**
 * A service's own log (`--daemon`'s `--log-file`) rotated by size and count. The detached service
 * writes to the file through inherited descriptors (so a crash's last words land there too), which it
 * cannot reopen; so the file is copied to <file>.1 and then truncated in place ("copytruncate", as
 * logrotate does): the service's appending descriptors go on writing at the new end. Older copies are
 * shifted (<file>.1 to <file>.2 ...) and the one past `backups` deleted. A line written between the
 * copy and the truncation can be lost; that is the price of never losing the descriptors.
 */
import { copyFile, rename, rm, stat, truncate } from "node:fs/promises";

export interface RotationOptions {
  /** Rotate past this size (0 = never). */
  maxBytes: number;
  /** Rotated copies kept. */
  backups: number;
}

/** Rotates `file` when it is past the size; true when it did. */
export async function rotateServiceLog(file: string, o: RotationOptions): Promise<boolean> {
  if (o.maxBytes <= 0) return false;
  const size = await stat(file).then(
    (s) => s.size,
    () => 0,
  );
  if (size <= o.maxBytes) return false;
  await rm(`${file}.${o.backups}`, { force: true });
  for (let i = o.backups - 1; i >= 1; i--)
    await rename(`${file}.${i}`, `${file}.${i + 1}`).catch(() => undefined);
  if (o.backups > 0) await copyFile(file, `${file}.1`);
  await truncate(file, 0);
  return true;
}

/** Checks the file every few seconds for as long as the process lives (the timer does not hold it). */
export function keepServiceLogRotated(file: string, o: RotationOptions, everyMs = 5_000): () => void {
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    rotateServiceLog(file, o)
      .catch((error: unknown) => process.stderr.write(`could not rotate ${file}: ${String(error)}\n`))
      .finally(() => (busy = false));
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
