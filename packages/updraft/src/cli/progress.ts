/** Progress on stderr: a live line on a terminal, a line per 10% otherwise (logs stay short). */
export function progressReporter(label: string): (done: number, total: number, detail?: string) => void {
  let lastDecile = -1;
  const tty = process.stderr.isTTY;
  return (done, total, detail = "") => {
    const pct = total === 0 ? 100 : Math.floor((done / total) * 100);
    if (tty) {
      process.stderr.write(
        `\r\x1b[K${label} ${done}/${total} (${pct}%) ${detail}`.slice(0, process.stderr.columns || 120),
      );
      if (done === total) process.stderr.write("\n");
      return;
    }
    const decile = Math.floor(pct / 10);
    if (decile !== lastDecile || done === total) {
      lastDecile = decile;
      process.stderr.write(`${label} ${done}/${total} (${pct}%)\n`);
    }
  };
}
