/**
 * SQLite through Node's built-in `node:sqlite` (no native build step to approve). Kysely's SQLite
 * dialect expects better-sqlite3's statement shape; `toKyselyDatabase` adapts DatabaseSync to it.
 */
import { closeSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import {
  sql,
  SqliteAdapter,
  SqliteDialect,
  type TransactionSettings,
  type DatabaseConnection,
  type DialectAdapter as KyselyAdapter,
  type Driver,
  type SqliteDatabase,
  type SqliteDialectConfig,
  type SqliteStatement,
} from "kysely";
import { walCheckpointer, type Checkpointer } from "./checkpointer.ts";
import type { DialectAdapter } from "../../dialect.ts";
import { sqliteOwnerLocks } from "./owner-locks.ts";

export function sqliteAdapter(path: string): DialectAdapter {
  return {
    name: "sqlite",
    description: `sqlite file ${path}`,
    capabilities: {
      supportsSkipLocked: false,
      supportsMultipleWriters: false,
      supportsReturning: true,
      supportsOnConflict: true,
    },
    columnTypes: { longText: "text" },
    ownerLocks: sqliteOwnerLocks(),
    // VACUUM rewrites the file through the WAL; the checkpoint then gives the WAL's pages back too.
    reclaimSpace: async (db) => {
      await sql`vacuum`.execute(db);
      await sql`pragma wal_checkpoint(truncate)`.execute(db);
    },
    createKyselyDialect: () => {
      let checkpointer: Checkpointer | undefined;
      const database = async () => {
        const db = openSqlite(path);
        checkpointer = walCheckpointer(db, path);
        return toKyselyDatabase(db, checkpointer);
      };
      return new FifoSqliteDialect({ database }, () => checkpointer?.stop());
    },
  };
}

/**
 * SQLite has one connection, so queries take turns. Kysely's own turn-taking wakes every waiter on
 * each release (each re-awaits), which costs O(waiters²) promises: a thousand tasks starting at once
 * allocated ~400 MB of garbage and grew the scheduler's heap by 100+ MB. This driver hands the
 * connection to the next waiter in line instead, and tells Kysely not to add its own lock.
 */
class FifoSqliteDialect extends SqliteDialect {
  readonly #onDestroy: () => Promise<void> | undefined;

  constructor(config: SqliteDialectConfig, onDestroy: () => Promise<void> | undefined) {
    super(config);
    this.#onDestroy = onDestroy;
  }

  override createAdapter(): KyselyAdapter {
    return new (class extends SqliteAdapter {
      override get supportsMultipleConnections(): boolean {
        return true; // the lock is FifoDriver's, not Kysely's
      }
    })();
  }

  override createDriver(): Driver {
    return new FifoDriver(super.createDriver(), this.#onDestroy);
  }
}

class FifoDriver implements Driver {
  readonly #driver: Driver;
  readonly #line: (() => void)[] = [];
  readonly #onDestroy: () => Promise<void> | undefined;
  #busy = false;

  constructor(driver: Driver, onDestroy: () => Promise<void> | undefined) {
    this.#driver = driver;
    this.#onDestroy = onDestroy;
  }

  init(): Promise<void> {
    return this.#driver.init();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    if (this.#busy) await new Promise<void>((resolve) => this.#line.push(resolve));
    this.#busy = true;
    return this.#driver.acquireConnection();
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    await this.#driver.releaseConnection(connection);
    const next = this.#line.shift();
    if (next) next();
    else this.#busy = false;
  }

  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    return this.#driver.beginTransaction(connection, settings);
  }

  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return this.#driver.commitTransaction(connection);
  }

  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return this.#driver.rollbackTransaction(connection);
  }

  async destroy(): Promise<void> {
    await this.#driver.destroy();
    await this.#onDestroy();
  }
}

function openSqlite(path: string): DatabaseSync {
  if (path !== ":memory:") {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    // Created 0600 before SQLite opens it: its -wal and -shm files take the database file's mode.
    closeSync(openSync(path, "a", 0o600));
  }
  const db = new DatabaseSync(path);
  // WAL lets readers (the API, the CLI) work while a scheduler writes; the busy timeout makes
  // concurrent writers from several processes wait instead of failing at once.
  db.exec(
    "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;",
  );
  return db;
}

/** node:sqlite cannot bind booleans or Dates; Updraft stores flags as 0/1 and times as ISO text. */
function bindable(value: unknown): unknown {
  if (typeof value === "boolean") return value ? 1 : 0;
  if (value instanceof Date) return value.toISOString();
  return value;
}

export function toKyselyDatabase(db: DatabaseSync, checkpointer?: Checkpointer): SqliteDatabase {
  const cache = new Map<string, StatementSync>();
  const prepare = (sql: string): StatementSync => {
    let stmt = cache.get(sql);
    if (!stmt) {
      stmt = db.prepare(sql);
      if (cache.size > 500) cache.clear();
      cache.set(sql, stmt);
    }
    return stmt;
  };
  return {
    close: () => db.close(),
    prepare(sql: string): SqliteStatement {
      const stmt = prepare(sql);
      const args = (params: ReadonlyArray<unknown>) => params.map(bindable) as never[];
      return {
        reader: stmt.columns().length > 0,
        all: (params) => stmt.all(...args(params)),
        run: (params) => {
          const result = stmt.run(...args(params));
          checkpointer?.wrote();
          return result;
        },
        iterate: (params) => stmt.iterate(...args(params)),
      };
    },
  };
}
