/**
 * `--daemon`, `--pid FILE` and `--log-file FILE` for long-running commands, as Airflow's: the
 * command starts itself again detached, with its output in the log file, and the first process exits.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { Option, type Command } from "commander";
import type { Config } from "../config/load.ts";
import { UpdraftError } from "../core/errors.ts";
import { keepServiceLogRotated } from "../logs/service-log.ts";

const CHILD_MARK = "UPDRAFT_DAEMON_CHILD";
/** Tells the detached copy where its output goes, so that it can rotate the file. */
const LOG_FILE_MARK = "UPDRAFT_DAEMON_LOG_FILE";

export interface DaemonOptions {
  daemon?: boolean;
  pid?: string;
  logFile?: string;
}

export function addDaemonOptions(command: Command): Command {
  return command
    .addOption(new Option("-D, --daemon", "run in the background, detached from the terminal"))
    .addOption(new Option("--pid <file>", "write the process id to this file"))
    .addOption(
      new Option(
        "-l, --log-file <file>",
        "with --daemon: where output goes (default: <UPDRAFT_HOME>/logs/<command>.log)",
      ),
    );
}

/**
 * With --daemon in the first process: starts the detached copy and returns true (the caller exits).
 * In the copy, or without --daemon: writes the pid file (removed at exit) and returns false. The copy
 * keeps its log file under [logging] service_log_max_bytes (see logs/service-log.ts).
 */
export function daemonize(name: string, config: Pick<Config, "home" | "values">, o: DaemonOptions): boolean {
  const home = config.home;
  const pidFile = o.pid ? resolve(o.pid) : o.daemon ? join(home, `${name}.pid`) : undefined;
  if (o.daemon && !process.env[CHILD_MARK]) {
    assertNotRunning(pidFile);
    const logFile = resolve(o.logFile ?? join(home, "logs", `${name}.log`));
    mkdirSync(dirname(logFile), { recursive: true, mode: 0o700 });
    const out = openSync(logFile, "a", 0o600);
    const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
      detached: true,
      stdio: ["ignore", out, out],
      env: { ...process.env, [CHILD_MARK]: "1", [LOG_FILE_MARK]: logFile },
    });
    child.unref();
    process.stdout.write(
      `Started ${name} in the background (pid ${child.pid}); output in ${logFile}${pidFile ? `, pid in ${pidFile}` : ""}\n`,
    );
    return true;
  }
  const logFile = process.env[CHILD_MARK] ? process.env[LOG_FILE_MARK] : undefined;
  if (logFile) {
    const { service_log_max_bytes: maxBytes, service_log_backups: backups } = config.values.logging;
    keepServiceLogRotated(logFile, { maxBytes, backups });
  }
  if (pidFile) {
    assertNotRunning(pidFile);
    mkdirSync(dirname(pidFile), { recursive: true });
    writeFileSync(pidFile, `${process.pid}\n`);
    process.once("exit", () => rmSync(pidFile, { force: true }));
  }
  return false;
}

function assertNotRunning(pidFile: string | undefined): void {
  if (!pidFile || !existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, "utf8").trim());
  if (pid && pid !== process.pid && alive(pid)) {
    throw new UpdraftError(
      "ALREADY_EXISTS",
      `already running as pid ${pid} (pid file ${pidFile}): stop it first, or remove the file if that process is not Updraft`,
    );
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
