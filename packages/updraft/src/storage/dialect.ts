/**
 * One interface over the three databases. Everything above storage branches on capability flags,
 * never on a dialect's name (see ./ADR.md).
 */
import type { Dialect } from "kysely";

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
  /** Where the data lives, with no password, for `db check` and logs. */
  readonly description: string;
}
