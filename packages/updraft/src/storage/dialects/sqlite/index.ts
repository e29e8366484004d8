/**
 * SQLite through Node's built-in `node:sqlite` (no native build step to approve). Kysely's SQLite
 * dialect expects better-sqlite3's statement shape; `toKyselyDatabase` adapts DatabaseSync to it.
 */
import { closeSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync } from "node:sqlite";
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
  CompiledQuery,
  type QueryResult,
  type SqlBool,
} from "kysely";
import { readsOffThread } from "../../read-threads.ts";
import { SqliteReaders } from "./readers.ts";
import { statementCache } from "./statements.ts";
import { walCheckpointer, type Checkpointer } from "./checkpointer.ts";
import type { DialectAdapter } from "../../dialect.ts";
import { sqliteOwnerLocks } from "./owner-locks.ts";
import { sqliteWakeups } from "./wakeups.ts";

/** Reader threads per process: one slow list leaves another reader free. */
const READER_THREADS = 2;

export function sqliteAdapter(path: string): DialectAdapter {
  // The writing connection, once open: its data_version tells of other processes' commits.
  let main: DatabaseSync | undefined;
  return {
    name: "sqlite",
    description: `sqlite file ${path}`,
    capabilities: {
      supportsSkipLocked: false,
      supportsMultipleWriters: false,
      supportsReturning: true,
      supportsOnConflict: true,
      sortsNullsLargest: false,
    },
    // SQLite takes a row value IN only from a subquery: a VALUES list is one.
    keysIn: (columns, rows) =>
      sql<SqlBool>`(${sql.join(columns.map((c) => sql.ref(c)))}) in (values ${sql.join(
        rows.map((r) => sql`(${sql.join(r)})`),
      )})`,
    // unixepoch(..., 'subsec') (SQLite 3.42+) keeps milliseconds exact; julianday's float does not.
    secondsBetween: (start, end) =>
      sql<number | null>`(unixepoch(${end}, 'subsec') - unixepoch(${start}, 'subsec'))`,
    columnTypes: { longText: "text" },
    ownerLocks: sqliteOwnerLocks(),
    wakeups: sqliteWakeups(() => main),
    // VACUUM rewrites the file through the WAL; the checkpoint then gives the WAL's pages back too.
    reclaimSpace: async (db) => {
      await sql`vacuum`.execute(db);
      await sql`pragma wal_checkpoint(truncate)`.execute(db);
    },
    createKyselyDialect: () => {
      let checkpointer: Checkpointer | undefined;
      const database = async () => {
        const db = openSqlite(path);
        main = db;
        checkpointer = walCheckpointer(db, path);
        return toKyselyDatabase(db, checkpointer);
      };
      // An in-memory database is one connection's alone: no readers for it.
      const readers = path === ":memory:" ? undefined : new SqliteReaders(path, READER_THREADS);
      return new FifoSqliteDialect({ database }, () => checkpointer?.stop(), readers);
    },
  };
}

/**
 * SQLite has one writing connection, so writes and transactions take turns on it. Kysely's own
 * turn-taking wakes every waiter on each release (each re-awaits), which costs O(waiters²) promises:
 * a thousand tasks starting at once allocated ~400 MB of garbage and grew the scheduler's heap by
 * 100+ MB. This driver hands the connection to the next waiter in line instead, and tells Kysely not
 * to add its own lock. Plain SELECTs outside a transaction that ask to (../../read-threads.ts: the
 * API's) do not wait in that line: reader threads answer them (readers.ts).
 */
class FifoSqliteDialect extends SqliteDialect {
  readonly #onDestroy: () => Promise<void> | undefined;
  readonly #readers: SqliteReaders | undefined;

  constructor(
    config: SqliteDialectConfig,
    onDestroy: () => Promise<void> | undefined,
    readers: SqliteReaders | undefined,
  ) {
    super(config);
    this.#onDestroy = onDestroy;
    this.#readers = readers;
  }

  override createAdapter(): KyselyAdapter {
    return new (class extends SqliteAdapter {
      override get supportsMultipleConnections(): boolean {
        return true; // the lock is FifoDriver's, not Kysely's
      }
    })();
  }

  override createDriver(): Driver {
    return new FifoDriver(super.createDriver(), this.#onDestroy, this.#readers);
  }
}

/**
 * BEGIN IMMEDIATE: the write lock is taken at the start. A deferred transaction that reads and then
 * writes fails at once with SQLITE_BUSY_SNAPSHOT (517) when another connection wrote after its read,
 * and no busy timeout waits that out. The lock is waited for here, off the busy handler (which would
 * block this thread, and with it another connection of this process that holds the lock and needs the
 * event loop to commit): each attempt fails at once while the lock is held, then waits a little.
 */
async function beginImmediate(connection: DatabaseConnection): Promise<void> {
  const deadline = Date.now() + BUSY_TIMEOUT_MS;
  await connection.executeQuery(CompiledQuery.raw("pragma busy_timeout = 0"));
  try {
    for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
      try {
        await connection.executeQuery(CompiledQuery.raw("begin immediate"));
        return;
      } catch (error) {
        const busy = ((error as { errcode?: number }).errcode ?? 0) % 256 === 5; // SQLITE_BUSY and its extended codes
        if (!busy || Date.now() >= deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  } finally {
    await connection.executeQuery(CompiledQuery.raw(`pragma busy_timeout = ${BUSY_TIMEOUT_MS}`));
  }
}

/** How long a writer waits for another's lock before it fails with "database is locked". */
const BUSY_TIMEOUT_MS = 10_000;

/** First come, first served; a release hands the turn straight to the next in line. */
class FifoLock {
  readonly #line: (() => void)[] = [];
  #busy = false;

  async acquire(): Promise<void> {
    if (this.#busy) await new Promise<void>((resolve) => this.#line.push(resolve));
    this.#busy = true;
  }

  release(): void {
    const next = this.#line.shift();
    if (next) next();
    else this.#busy = false;
  }
}

class FifoDriver implements Driver {
  readonly #driver: Driver;
  readonly #onDestroy: () => Promise<void> | undefined;
  readonly #readers: SqliteReaders | undefined;
  readonly #lock = new FifoLock();
  #main: DatabaseConnection | undefined;

  constructor(
    driver: Driver,
    onDestroy: () => Promise<void> | undefined,
    readers: SqliteReaders | undefined,
  ) {
    this.#driver = driver;
    this.#onDestroy = onDestroy;
    this.#readers = readers;
  }

  init(): Promise<void> {
    return this.#driver.init();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    // Kysely's driver holds its one connection for good: the turns are this driver's.
    this.#main ??= await this.#driver.acquireConnection();
    return new RoutedConnection(this.#main, this.#lock, this.#readers);
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    (connection as RoutedConnection).endTurn();
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    const routed = connection as RoutedConnection;
    await routed.startTurn();
    if (settings.isolationLevel || settings.accessMode) {
      await this.#driver.beginTransaction(this.#main!, settings);
      return;
    }
    await beginImmediate(this.#main!);
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    try {
      await this.#driver.commitTransaction(this.#main!);
    } finally {
      (connection as RoutedConnection).endTurn();
    }
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    try {
      await this.#driver.rollbackTransaction(this.#main!);
    } finally {
      (connection as RoutedConnection).endTurn();
    }
  }

  async destroy(): Promise<void> {
    await this.#readers?.close();
    await this.#driver.destroy();
    await this.#onDestroy();
  }
}

/**
 * One use of the database by Kysely: a statement, or a transaction (which holds the turn from begin
 * to commit or rollback). Outside a transaction, a SELECT made off-thread (the API's) is read by a
 * reader thread; any other statement waits for its turn, runs (synchronously) and gives the turn back.
 */
class RoutedConnection implements DatabaseConnection {
  readonly #main: DatabaseConnection;
  readonly #lock: FifoLock;
  readonly #readers: SqliteReaders | undefined;
  #turn = false;

  constructor(main: DatabaseConnection, lock: FifoLock, readers: SqliteReaders | undefined) {
    this.#main = main;
    this.#lock = lock;
    this.#readers = readers;
  }

  async startTurn(): Promise<void> {
    await this.#lock.acquire();
    this.#turn = true;
  }

  endTurn(): void {
    if (!this.#turn) return;
    this.#turn = false;
    this.#lock.release();
  }

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    if (this.#turn) return this.#main.executeQuery<R>(query);
    if (this.#readers && query.query.kind === "SelectQueryNode" && readsOffThread())
      return { rows: (await this.#readers.all(query.sql, query.parameters.map(bindable))) as R[] };
    await this.startTurn();
    try {
      return await this.#main.executeQuery<R>(query);
    } finally {
      this.endTurn();
    }
  }

  async *streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    const own = !this.#turn;
    if (own) await this.startTurn();
    try {
      yield* this.#main.streamQuery<R>(query, chunkSize as number);
    } finally {
      if (own) this.endTurn();
    }
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
    `PRAGMA journal_mode = WAL; PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;`,
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
  const prepare = statementCache(db);
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
