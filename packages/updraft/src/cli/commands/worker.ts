import { hostname } from "node:os";
import { InvalidArgumentError, type Command } from "commander";
import { loadConfig, type Config } from "../../config/load.ts";
import { runWorker } from "../../executor/bullmq/worker.ts";
import { createLogger, type Logger } from "../../logging.ts";
import { addDaemonOptions, daemonize, type DaemonOptions } from "../daemon.ts";
import { stopSignal } from "../services.ts";

interface WorkerCliOptions extends DaemonOptions {
  queues: string;
  concurrency: number;
  hostname?: string;
}

export function register(program: Command): void {
  addDaemonOptions(
    program
      .command("worker")
      .description(
        "Run a worker (executor = bullmq): takes task tries from Redis queues and runs them here; needs [bullmq] redis_url and [core] execution_api_server_url, no database",
      )
      .option("-q, --queues <names>", "comma-separated queues to take tries from", "default")
      .option("-c, --concurrency <n>", "tries run at once", positive, 16)
      .option("-H, --hostname <name>", "this worker's name in the UI and the API (default: the machine's)"),
  ).action(async (opts: WorkerCliOptions) => {
    // A worker's configuration is never written with keys: it must hold none (see docs/security.md).
    const config = loadConfig({ writeIfMissing: false });
    for (const warning of config.warnings) process.stderr.write(`Warning: ${warning}\n`);
    if (daemonize("worker", config, opts)) return;
    const log = createLogger("worker", config.values.logging.level);
    withoutKeys(config, log);
    const queues = opts.queues
      .split(",")
      .map((q) => q.trim())
      .filter(Boolean);
    await runWorker({
      config,
      log,
      queues: queues.length > 0 ? queues : ["default"],
      concurrency: opts.concurrency,
      hostname: opts.hostname ?? hostname(),
      stop: stopSignal(log, "stopping: no new tries; running tries may finish"),
    });
  });
}

/**
 * A worker needs none of the installation's keys: any found in its configuration are dropped from
 * this process (never passed on) and reported, so the operator removes them from the machine.
 */
function withoutKeys(config: Config, log: Logger): void {
  const found: string[] = [];
  const drop = (section: string, key: string, emptyIs: string) => {
    const entry = config.entries.find((e) => e.section === section && e.key === key);
    if (!entry || entry.source === "default" || entry.value === emptyIs) return;
    found.push(`[${section}] ${key}`);
    entry.value = "";
    (config.values as unknown as Record<string, Record<string, unknown>>)[section]![key] = "";
  };
  drop("database", "url", "");
  drop("api", "secret_key", "");
  drop("security", "encryption_key", "");
  if (found.length > 0)
    log.warn(
      { settings: found },
      `a worker needs no database URL and no keys; ignoring ${found.join(", ")}: remove them from this machine's configuration`,
    );
}

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("must be a whole number of at least 1");
  return n;
}
