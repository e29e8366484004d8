/**
 * Service logs: pino, to stderr. JSON lines when stderr is a file or pipe (for log shippers),
 * readable lines on a terminal. `UPDRAFT__LOGGING__LEVEL` sets the level.
 */
import { pino, type Logger } from "pino";
import pretty from "pino-pretty";

export type { Logger };

export function createLogger(name: string, level = "info"): Logger {
  const options = { name, level, base: { pid: process.pid } };
  if (process.stderr.isTTY)
    return pino(options, pretty({ destination: 2, sync: true, ignore: "pid,hostname" }));
  return pino(options, pino.destination({ dest: 2, sync: true }));
}
