/**
 * What every long-running service does whatever it runs: stop on SIGTERM or SIGINT, and say in its log
 * when the database goes away and comes back. Apart from services.ts so a service that runs no
 * webserver (the triggerer) does not load one.
 */
import type { Logger } from "../logging.ts";
import type { Database } from "../storage/database.ts";

/** Aborted on SIGINT or SIGTERM; made first, so a startup that waits for the database can stop. */
export function stopSignal(
  log: Logger,
  saying = "stopping: no new tasks start; running tasks may finish",
): AbortSignal {
  const controller = new AbortController();
  const stop = (signal: string) => {
    log.info({ signal }, saying);
    controller.abort();
  };
  process.once("SIGINT", () => stop("SIGINT"));
  process.once("SIGTERM", () => stop("SIGTERM"));
  return controller.signal;
}

/**
 * The service's log says when the database goes away and when it is back (and, while it is away,
 * every 30 s that it still is), so an operator reading it knows why nothing moves and that nothing
 * needs a restart.
 */
export function logDatabaseHealth(database: Database, log: Logger): () => void {
  const where = database.adapter.description;
  return database.health.on((event) => {
    if (event.type === "unreachable")
      log.warn(
        { err: event.error, database: where },
        `database unreachable (${messageOf(event.error)}); retrying`,
      );
    else if (event.type === "still-unreachable")
      log.warn(
        { database: where, downSeconds: seconds(event.downMs), attempts: event.attempts },
        `database still unreachable after ${seconds(event.downMs)} s (${messageOf(event.error)}); retrying`,
      );
    else
      log.info(
        { database: where, downSeconds: seconds(event.downMs), attempts: event.attempts },
        `database reachable again after ${seconds(event.downMs)} s`,
      );
  });
}

const seconds = (ms: number) => Math.round(ms / 100) / 10;
const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));
