/**
 * What a command needs, opened lazily: the configuration, the database, the stores. Commands run
 * inside `withContext` so the database is always closed and errors are reported in one place.
 */
import { sql } from "kysely";
import { loadConfig, type Config } from "../config/load.ts";
import { UpdraftError } from "../core/errors.ts";
import type { Logger } from "../logging.ts";
import { createCipher, type SecretCipher } from "../secrets/cipher.ts";
import { openDatabase, redactUrl, type Database } from "../storage/database.ts";
import { MIGRATION_TABLE } from "../storage/migrate.ts";
import { isDbConnectionError, retrying } from "../storage/retry.ts";

export interface DatabaseOpening {
  requireMigrated?: boolean;
  /**
   * Services: a database that cannot be reached yet (a restart, a database started after the
   * service) is waited for, with a line in this log, instead of ending the command.
   */
  waitWith?: Logger;
}

export interface CliContext {
  config: Config;
  database(options?: DatabaseOpening): Promise<Database>;
  cipher(): SecretCipher;
}

export async function withContext<T>(run: (ctx: CliContext) => Promise<T>): Promise<T> {
  const config = loadConfig();
  for (const warning of config.warnings) process.stderr.write(`Warning: ${warning}\n`);
  let database: Database | undefined;
  const ctx: CliContext = {
    config,
    async database({ requireMigrated = true, waitWith } = {}) {
      if (!database) {
        database = openDatabase(config.values.database.url, { poolSize: config.values.database.pool_size });
        await assertReachable(database, config, requireMigrated, waitWith);
      }
      return database;
    },
    cipher() {
      const key = config.values.security.encryption_key;
      if (!key) {
        throw new UpdraftError(
          "CONFIG_INVALID",
          `no encryption key: set [security] encryption_key in ${config.file} (or UPDRAFT__SECURITY__ENCRYPTION_KEY) to a 32-byte base64url key, e.g. the output of: node -e "console.log(require('crypto').randomBytes(32).toString('base64url'))"`,
        );
      }
      return createCipher(key);
    },
  };
  try {
    return await run(ctx);
  } finally {
    await database?.close();
  }
}

async function assertReachable(
  database: Database,
  config: Config,
  requireMigrated: boolean,
  waitWith: Logger | undefined,
): Promise<void> {
  const url = redactUrl(config.values.database.url);
  try {
    await (waitWith ? waitUntilReachable(database, url, waitWith) : sql`select 1`.execute(database.db));
  } catch (error) {
    throw new UpdraftError(
      "DATABASE_UNREACHABLE",
      `cannot reach the database ${url}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  if (!requireMigrated) return;
  const migrated = await sql`select 1 from ${sql.table(MIGRATION_TABLE)} limit 1`.execute(database.db).then(
    () => true,
    () => false,
  );
  if (!migrated) {
    throw new UpdraftError(
      "DATABASE_UNREACHABLE",
      `the database ${url} has no Updraft tables yet: run \`updraft db migrate\` first`,
    );
  }
}

/**
 * Retries while the database refuses or drops connections; a wrong password or a missing database is
 * a mistake, not an outage, and still ends the command at once. SIGTERM ends the wait (nothing to
 * clean up yet).
 */
async function waitUntilReachable(database: Database, url: string, log: Logger): Promise<void> {
  const started = Date.now();
  let lastLine = -Infinity;
  await retrying(() => sql`select 1`.execute(database.db), {
    what: "connecting to the database",
    maxMs: Infinity,
    maxDelayMs: 5_000,
    isTransient: isDbConnectionError,
    onRetry: ({ error }) => {
      if (Date.now() - lastLine < 30_000) return;
      lastLine = Date.now();
      log.warn(
        { database: url, waitedSeconds: Math.round((Date.now() - started) / 1000), err: error },
        `waiting for the database ${url} (${(error as Error).message}); retrying`,
      );
    },
  });
  if (lastLine > -Infinity) log.info({ database: url }, "database reachable: starting");
}
