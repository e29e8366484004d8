import { createInterface } from "node:readline/promises";

/** Whether there is a terminal to ask on (commands that must not guess then ask for --yes). */
export const canAsk = (): boolean => process.stdin.isTTY === true;

/** Asks a yes/no question on the terminal; without a terminal the answer is no. */
export async function confirm(question: string): Promise<boolean> {
  if (!canAsk()) return false;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}
