/**
 * One interface over the three databases. Everything above storage branches on capability flags,
 * never on a dialect's name (see ./ADR.md).
 */
import type { Dialect, Expression, Kysely, RawBuilder, SqlBool } from "kysely";

export type DialectName = "sqlite" | "postgres" | "mysql";

export interface Capabilities {
  /** `SELECT ... FOR UPDATE SKIP LOCKED` claims rows without blocking other schedulers. */
  supportsSkipLocked: boolean;
  /** Several processes may write at once (SQLite serialises writers: claims use a lease instead). */
  supportsMultipleWriters: boolean;
  /** `INSERT ... RETURNING`. Where false, read the generated id from insertId. */
  supportsReturning: boolean;
  /** Upserts are `ON CONFLICT (...) DO UPDATE` (true) or MySQL's `ON DUPLICATE KEY UPDATE` (false). */
  supportsOnConflict: boolean;
  /**
   * NULL sorts as the largest value (PostgreSQL) rather than the smallest (SQLite, MySQL). Lists ask
   * for NULLS FIRST/LAST explicitly there, so every database sorts them alike (see ADR S13).
   */
  sortsNullsLargest: boolean;
}

export interface DialectEvents {
  onConnectionError?: (error: unknown) => void;
}

/** Column types that differ between databases, for migrations. */
export interface ColumnTypes {
  /** Unbounded text (MySQL's TEXT stops at 64 KiB). */
  longText: "text" | "longtext";
}

export interface DialectAdapter {
  readonly name: DialectName;
  readonly capabilities: Capabilities;
  readonly columnTypes: ColumnTypes;
  /**
   * Kysely's dialect, ready to connect. `onConnectionError` hears every connection the driver loses
   * (a restart, a network fault), whether or not a query was running on it: the driver must never
   * leave such an 'error' event unheard, which would end the process.
   */
  createKyselyDialect(events?: DialectEvents): Dialect;
  /**
   * Seconds from one stored timestamp to another (ISO text, see ADR S2: columns or values), NULL when
   * either is NULL: a run's duration, computed in SQL as its end is written.
   */
  secondsBetween(start: Expression<string | null>, end: Expression<string | null>): RawBuilder<number | null>;
  /**
   * `(columns) IN (rows)`: rows picked by their composite key in one condition whose planning does not
   * grow with the rows (an OR of 200 ANDs costs PostgreSQL more to plan than to run). `columns` are
   * trusted references; values are bound. Text columns first, integer ones as `integers` marks.
   */
  keysIn(columns: string[], rows: unknown[][], integers?: boolean[]): RawBuilder<SqlBool>;
  /** Where the data lives, with no password, for `db check` and logs. */
  readonly description: string;
  /** Waking schedulers in other processes when work appears (a triggered run), see ADR S15. */
  readonly wakeups: Wakeups;
  /** Process liveness through locks the database drops with the holder's connection (ADR S11). */
  readonly ownerLocks: OwnerLocks;
  /**
   * Gives the space of deleted rows back after a large delete (`db clean --vacuum`): SQLite rewrites
   * the whole file, PostgreSQL vacuums and analyzes `tables`, MySQL rebuilds them. Outside any
   * transaction; it may take a while on a large database.
   */
  reclaimSpace(db: Kysely<never>, tables: readonly string[]): Promise<void>;
}

/**
 * How a write tells schedulers elsewhere that there is work: PostgreSQL sends a NOTIFY; SQLite needs
 * nothing sent (a scheduler sees another connection's commit in `PRAGMA data_version`); MySQL has
 * neither, so a scheduler polls the newest run id.
 */
export interface Wakeups {
  /** Tells the schedulers (after `db`'s transaction commits, when `db` is one). */
  notify(db: Kysely<never>): Promise<void>;
  /** Calls `onWake` when another process signals or changes what schedulers read; returns the stop. */
  watch(db: Kysely<never>, onWake: () => void, log?: (message: string) => void): Promise<() => Promise<void>>;
}

/**
 * Each scheduler holds a lock named after its job id on a connection of its own. When the process
 * dies (kill -9, a lost machine) the database closes the connection and drops the lock, so the
 * others see at once that its work has no owner, instead of waiting for a heartbeat timeout.
 */
export interface OwnerLocks {
  /** Takes `owner`'s lock and keeps it (reconnecting and taking it again after a connection loss). */
  hold(owner: number, log?: (message: string) => void): Promise<HeldOwnerLock>;
  /** Those of `owners` whose lock nobody holds: their process is gone. */
  free(db: Kysely<never>, owners: readonly number[]): Promise<number[]>;
}

export interface HeldOwnerLock {
  /** Since when (ms) the lock has been held without a break; null while it is not held. */
  heldSince(): number | null;
  release(): Promise<void>;
}
