/**
 * Long-running services in one process: the DAG processor (a pass every refresh_interval), the
 * scheduler and the webserver. `updraft scheduler` runs the first two (like Airflow 2's scheduler),
 * `updraft webserver` the last, `standalone` all three after migrating the database. SIGTERM or
 * SIGINT: stop serving and scheduling, drain running tasks, exit. A database outage ends none of them:
 * they say so in their logs, retry, and carry on when it is back (see ../storage/ADR.md).
 */
import { dagRunAccess } from "../operations/trigger-run.ts";
import type { AddressInfo } from "node:net";
import { startWebserver } from "../api/server.ts";
import { createRegistry, schedulerMetrics, serveMetrics } from "../metrics/metrics.ts";
import type { Config } from "../config/load.ts";
import { processDagFiles } from "../dag-processing/processor.ts";
import type { CleanResult } from "../logs/folder.ts";
import { openLogFolder } from "../operations/clean-logs.ts";
import type { Logger } from "../logging.ts";
import { startRetention } from "../operations/retention.ts";
import { createScheduler } from "../scheduler/runtime.ts";
import { startBashSpawner } from "../runner/bash-spawner.ts";
import type { SecretCipher } from "../secrets/cipher.ts";
import type { Database } from "../storage/database.ts";
import { isDbConnectionError, retrying } from "../storage/retry.ts";
import { logDatabaseHealth, stopSignal } from "./service-signals.ts";

// Kept here too: other commands import them from this module.
export { logDatabaseHealth, stopSignal };

export interface ServiceOptions {
  config: Config;
  database: Database;
  cipher: SecretCipher;
  log: Logger;
  dagProcessor: boolean;
  /** Default true. */
  scheduler?: boolean;
  webserver?: { port?: number; host?: string } | false;
}

export async function runServices(o: ServiceOptions): Promise<void> {
  const stop = stopSignal(o.log);
  const unwatch = logDatabaseHealth(o.database, o.log);
  try {
    await runUntilStopped(o, stop);
  } finally {
    unwatch();
  }
}

/** Runs a clean of the task logs folder; a failure is logged (the next clean retries), never thrown. */
async function cleanLogFolder(o: ServiceOptions, clean: () => Promise<CleanResult>): Promise<void> {
  const report = logCleaned(o);
  await clean().then(report, (error: unknown) => report(undefined, error));
}

function logCleaned(o: ServiceOptions) {
  const { max_total_bytes: cap, base_log_folder: folder } = o.config.values.logging;
  return (r: CleanResult | undefined, error?: unknown) => {
    if (error || !r) return o.log.error({ err: error, folder }, "cleaning task logs failed; will retry");
    const fields = {
      folder,
      filesDeleted: r.filesDeleted,
      bytesFreed: r.bytesFreed,
      diskBytes: r.diskAfter,
      capBytes: cap,
      liveLogs: r.filesLive,
    };
    if (cap > 0 && r.diskAfter > cap)
      o.log.warn(
        fields,
        "the logs folder is over [logging] max_total_bytes and nothing more may be deleted (logs of running tries, service logs): task output past the cap is discarded until there is room",
      );
    else if (r.filesDeleted > 0) o.log.info(fields, "task logs deleted (retention and the folder's cap)");
  };
}

async function runUntilStopped(o: ServiceOptions, stop: AbortSignal): Promise<void> {
  // Set once the scheduler exists: with both in one process, an accepted change wakes it at once.
  let poke = () => {};
  // Logs never fill the disk: the folder is counted and cleaned before the first task writes, then as
  // logs are written (past 90% of the cap) and every clean_interval_hours (retention). A webserver
  // alone writes logs too: those workers upload through the Task Execution API.
  const logFolder = openLogFolder(o.config, o.database, logCleaned(o));
  await cleanLogFolder(o, () => logFolder.clean());
  const web = o.webserver
    ? await startWebserver({ ...o, ...o.webserver, logFolder, onChange: () => poke() })
    : null;
  if (o.scheduler === false) {
    const cleaner = setInterval(
      () => void cleanLogFolder(o, () => logFolder.clean()),
      o.config.values.logging.clean_interval_hours * 3_600_000,
    );
    await stopped(stop);
    clearInterval(cleaner);
    await web?.close();
    return;
  }
  const registry = createRegistry(o.database, "scheduler");
  const { scheduler, close } = createScheduler({
    config: o.config,
    database: o.database,
    log: o.log,
    cipher: o.cipher,
    metrics: schedulerMetrics(registry),
    dagRunAccess: dagRunAccess(o.database, {
      allowedRunIdPattern: o.config.values.scheduler.allowed_run_id_pattern,
    }),
    logFolder,
  });
  const { scheduler_port: port, host, bearer_token: token } = o.config.values.metrics;
  const metricsServer =
    port > 0
      ? await serveMetrics(registry, port, host, token).catch((error: Error) => {
          o.log.warn({ err: error, port }, "could not serve scheduler metrics; carrying on without them");
          return null;
        })
      : null;
  if (metricsServer) {
    // The address really bound (an IPv6 host, port 0 in tests), not the one asked for.
    const bound = metricsServer.address() as AddressInfo;
    const where = bound.family === "IPv6" ? `[${bound.address}]` : bound.address;
    o.log.info(
      { url: `http://${where}:${bound.port}/metrics`, auth: token ? "bearer token" : "none" },
      "scheduler metrics served",
    );
  }
  let passing = false;
  const processPass = async () => {
    // A pass slowed by an outage must not overlap the next one.
    if (passing) return;
    passing = true;
    const s = await processDagFiles(o.config, o.database).finally(() => (passing = false));
    if (s.parsed > 0 || s.deactivated.length > 0) {
      o.log.info(
        {
          files: s.files,
          parsed: s.parsed,
          dags: s.dags,
          importErrors: s.importErrors,
          ms: Math.round(s.durationMs),
        },
        "DAG files processed",
      );
      scheduler.poke();
    }
  };
  const passFailed = (error: unknown) =>
    o.log.error({ err: error }, "DAG processing pass failed; the next pass retries");
  if (o.dagProcessor) await processPass().catch(passFailed);
  // Its bash tasks' spawner belongs to the service from the start (local executor only).
  if (o.config.values.core.executor === "local") startBashSpawner();
  // The scheduler's job row is its first write: a database that went away meanwhile is waited for.
  const started = await retrying(() => scheduler.start(), {
    what: "starting the scheduler",
    maxMs: Infinity,
    maxDelayMs: 5_000,
    isTransient: isDbConnectionError,
    signal: stop,
  }).then(
    () => true,
    (error: unknown) => {
      if (!stop.aborted) throw error;
      return false;
    },
  );
  poke = () => scheduler.poke();
  // [database] retention_days: old runs, audit log entries and jobs deleted while the service runs.
  const retention = startRetention(o);
  const timer =
    o.dagProcessor && started
      ? setInterval(
          () => processPass().catch(passFailed),
          o.config.values.dag_processor.refresh_interval * 1000,
        )
      : undefined;
  const cleaner = setInterval(
    () => void cleanLogFolder(o, () => logFolder.clean()),
    o.config.values.logging.clean_interval_hours * 3_600_000,
  );
  await stopped(stop);
  await web?.close();
  clearInterval(timer);
  clearInterval(cleaner);
  // Its end is recorded in the database; if that is away, other schedulers see the job go stale.
  await scheduler
    .stop()
    .catch((error: unknown) =>
      o.log.warn(
        { err: error },
        "could not record the scheduler's end (database unreachable?); stopping anyway",
      ),
    );
  await retention.stop();
  await close();
  metricsServer?.close();
}

function stopped(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
}
