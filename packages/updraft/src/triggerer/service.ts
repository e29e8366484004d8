/**
 * `updraft triggerer` (and the triggerer `standalone` runs): a Triggerer with the installation's
 * configuration, started once the database answers, stopped gracefully on SIGTERM or SIGINT.
 */
import type { Config } from "../config/load.ts";
import type { Logger } from "../logging.ts";
import type { SecretsBackend } from "../secrets/backends.ts";
import type { SecretCipher } from "../secrets/cipher.ts";
import type { Database } from "../storage/database.ts";
import { isDbConnectionError, retrying } from "../storage/retry.ts";
import { lookupForTask } from "../executor/lookups.ts";
import { Triggerer } from "./triggerer.ts";

export interface TriggererServiceOptions {
  config: Config;
  database: Database;
  cipher: SecretCipher;
  log: Logger;
  /** Aborted to stop (before it started, too). */
  stop: AbortSignal;
}

/** Starts a triggerer (waiting for the database if it is away); undefined if stopped before it started. */
export async function startTriggerer(o: TriggererServiceOptions): Promise<Triggerer | undefined> {
  const { capacity, lease_seconds: leaseSeconds } = o.config.values.triggerer;
  // The secrets chain (and its validation library) loads when a trigger first needs a connection.
  let secrets: Promise<SecretsBackend> | undefined;
  const triggerer = new Triggerer({
    database: o.database,
    connection: async (connId) => {
      secrets ??= import("../secrets/backends.ts").then((m) => m.defaultSecrets(o.database, o.cipher));
      return (await secrets).getConnection(connId);
    },
    log: o.log,
    capacity,
    leaseSeconds,
    dagsFolder: o.config.values.core.dags_folder,
    customMemoryMb: o.config.values.scheduler.default_task_memory_limit,
    callbackTimeoutSeconds: o.config.values.core.callback_timeout,
    // A DAG callback's getVariable()/getConnection(), answered as a task's are (the child has no keys).
    lookup: (what, key) => lookupForTask(o.database, o.cipher, what, key),
  });
  const started = await retrying(() => triggerer.start(), {
    what: "starting the triggerer",
    maxMs: Infinity,
    maxDelayMs: 5_000,
    isTransient: isDbConnectionError,
    signal: o.stop,
  }).then(
    () => true,
    (error: unknown) => {
      if (!o.stop.aborted) throw error;
      return false;
    },
  );
  return started ? triggerer : undefined;
}

/** Runs a triggerer until `stop` is aborted. */
export async function runTriggerer(o: TriggererServiceOptions): Promise<void> {
  const triggerer = await startTriggerer(o);
  if (!triggerer) return;
  await new Promise<void>((resolve) => {
    if (o.stop.aborted) return resolve();
    o.stop.addEventListener("abort", () => resolve(), { once: true });
  });
  await triggerer.stop();
}
