/**
 * Long-running services in one process: the DAG processor (a pass every refresh_interval), the
 * scheduler and the webserver. `updraft scheduler` runs the first two (like Airflow 2's scheduler),
 * `updraft webserver` the last, `standalone` all three after migrating the database. SIGTERM or
 * SIGINT: stop serving and scheduling, drain running tasks, exit.
 */
import { startWebserver } from "../api/server.ts";
import { createRegistry, schedulerMetrics, serveMetrics } from "../metrics/metrics.ts";
import type { Config } from "../config/load.ts";
import { processDagFiles } from "../dag-processing/processor.ts";
import { cleanLogs } from "../logs/files.ts";
import type { Logger } from "../logging.ts";
import { createScheduler } from "../scheduler/runtime.ts";
import type { SecretCipher } from "../secrets/cipher.ts";
import type { Database } from "../storage/database.ts";

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
  // Set once the scheduler exists: with both in one process, an accepted change wakes it at once.
  let poke = () => {};
  const web = o.webserver ? await startWebserver({ ...o, ...o.webserver, onChange: () => poke() }) : null;
  if (o.scheduler === false) {
    await untilStopped(o.log);
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
  });
  const { scheduler_port: port, host } = o.config.values.metrics;
  const metricsServer =
    port > 0
      ? await serveMetrics(registry, port, host).catch((error: Error) => {
          o.log.warn({ err: error, port }, "could not serve scheduler metrics; carrying on without them");
          return null;
        })
      : null;
  if (metricsServer) o.log.info({ url: `http://${host}:${port}/metrics` }, "scheduler metrics served");
  const processPass = async () => {
    const s = await processDagFiles(o.config, o.database);
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
  if (o.dagProcessor) await processPass();
  await scheduler.start();
  poke = () => scheduler.poke();
  const timer = o.dagProcessor
    ? setInterval(
        () =>
          processPass().catch((error) =>
            o.log.error({ err: error }, "DAG processing pass failed; will retry"),
          ),
        o.config.values.dag_processor.refresh_interval * 1000,
      )
    : undefined;
  // Logs never fill the disk: retention and the total cap are applied while the service runs.
  const logging = o.config.values.logging;
  const clean = () => {
    const r = cleanLogs(logging.base_log_folder, {
      retentionDays: logging.retention_days,
      maxTotalBytes: logging.max_total_bytes,
    });
    if (r.filesDeleted > 0)
      o.log.info({ filesDeleted: r.filesDeleted, bytesFreed: r.bytesFreed }, "old task logs deleted");
  };
  const cleaner = setInterval(() => {
    try {
      clean();
    } catch (error) {
      o.log.error({ err: error }, "cleaning task logs failed; will retry");
    }
  }, logging.clean_interval_hours * 3_600_000);
  await untilStopped(o.log);
  await web?.close();
  clearInterval(timer);
  clearInterval(cleaner);
  await scheduler.stop();
  await close();
  metricsServer?.close();
}

function untilStopped(log: Logger): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, "stopping: no new tasks start; running tasks may finish");
      resolve();
    };
    process.once("SIGINT", () => stop("SIGINT"));
    process.once("SIGTERM", () => stop("SIGTERM"));
  });
}
