/**
 * Transient database faults and retrying through them. A deadlock, a serialization failure, a lock
 * wait that timed out, or a connection that was refused, reset or terminated (a restart, a failover)
 * says nothing about the statement: run again, it succeeds. Everything else (a constraint, a syntax
 * error, a missing table) is final and is thrown at once.
 */

/** PostgreSQL SQLSTATEs of a lost or refused connection: shutdown, restart, network. */
const PG_CONNECTION = new Set([
  "57P01", // admin_shutdown
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now (starting up)
  "53300", // too_many_connections
  "08000",
  "08001",
  "08003",
  "08004",
  "08006",
]);
/** PostgreSQL SQLSTATEs of contention: the statement lost a race and may simply run again. */
const PG_CONTENTION = new Set([
  "40001", // serialization_failure
  "40P01", // deadlock_detected
  "55P03", // lock_not_available
]);

/** MySQL/MariaDB error numbers of a lost or refused connection. */
const MYSQL_CONNECTION = new Set([
  1040, // ER_CON_COUNT_ERROR
  1053, // ER_SERVER_SHUTDOWN
  2002, // CR_CONNECTION_ERROR
  2003, // CR_CONN_HOST_ERROR
  2006, // CR_SERVER_GONE_ERROR
  2013, // CR_SERVER_LOST
  1927, // ER_CONNECTION_KILLED (MariaDB)
  4031, // ER_CLIENT_INTERACTION_TIMEOUT
]);
/** MySQL/MariaDB error numbers of contention. */
const MYSQL_CONTENTION = new Set([
  1205, // ER_LOCK_WAIT_TIMEOUT
  1213, // ER_LOCK_DEADLOCK
]);

/** Node's socket errors, and the drivers' own words for a connection that is gone. */
const NET_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "PROTOCOL_CONNECTION_LOST",
  "PROTOCOL_SEQUENCE_TIMEOUT",
  "ER_SERVER_SHUTDOWN",
]);
const CONTENTION_CODES = new Set(["ER_LOCK_DEADLOCK", "ER_LOCK_WAIT_TIMEOUT"]);

const CONNECTION_MESSAGES = [
  /connection terminated/i,
  /connection (?:is )?closed/i,
  /terminating connection/i,
  /server closed the connection/i,
  /timeout exceeded when trying to connect/i,
  /^timeout expired$/, // pg: connectionTimeoutMillis passed while connecting
  /connection lost/i,
  /can't add new command when connection is in closed state/i,
  /can't write in closed state/i,
];
const CONTENTION_MESSAGES = [/database is locked/i, /database table is locked/i, /SQLITE_BUSY/i];

/** Walks `error` and its causes (drivers and Kysely wrap) until `test` says yes. */
function anyCause(error: unknown, test: (e: Record<string, unknown>, message: string) => boolean): boolean {
  for (let e = error as Record<string, unknown> | undefined, depth = 0; e && depth < 5; depth++) {
    if (typeof e !== "object") return false;
    if (test(e, typeof e.message === "string" ? e.message : "")) return true;
    e = e.cause as Record<string, unknown> | undefined;
  }
  return false;
}

/**
 * True when `error` (or its cause) says the database could not be reached or the connection was lost
 * (a restart, a failover, a network fault): the server is away, not the statement wrong.
 */
export function isDbConnectionError(error: unknown): boolean {
  return anyCause(error, (e, message) => {
    const code = e.code;
    if (typeof code === "string" && (PG_CONNECTION.has(code) || NET_CODES.has(code))) return true;
    if (typeof e.errno === "number" && MYSQL_CONNECTION.has(e.errno) && typeof e.sqlState === "string")
      return true;
    return CONNECTION_MESSAGES.some((m) => m.test(message));
  });
}

/** True when `error` (or its cause) is a fault that retrying can cure: a lost connection or contention. */
export function isTransientDbError(error: unknown): boolean {
  if (isDbConnectionError(error)) return true;
  return anyCause(error, (e, message) => {
    const code = e.code;
    if (typeof code === "string" && (PG_CONTENTION.has(code) || CONTENTION_CODES.has(code))) return true;
    if (typeof e.errno === "number" && MYSQL_CONTENTION.has(e.errno) && typeof e.sqlState === "string")
      return true;
    return CONTENTION_MESSAGES.some((m) => m.test(message));
  });
}

export interface RetryOptions {
  /** What is being retried, for the log: "recording the result of example_etl.extract". */
  what: string;
  /** Give up after this long (ms) of transient failures; the last error is then thrown. */
  maxMs?: number;
  /** First delay (ms); it doubles up to `maxDelayMs`, with jitter. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Told of every failed attempt that will be retried. */
  onRetry?: (info: { attempt: number; delayMs: number; error: unknown; what: string }) => void;
  /** Stop retrying (shutdown): the last error is thrown. */
  signal?: AbortSignal;
  /** Override the classification (tests, or callers that know more). */
  isTransient?: (error: unknown) => boolean;
}

/**
 * Runs `op` until it succeeds, retrying transient database faults with exponential backoff and
 * jitter for up to `maxMs` (default 120 s: a database restart or failover). `op` must be safe to run
 * again: a transaction that rolled back, or a write guarded by the state it expects.
 */
export async function retrying<T>(op: (attempt: number) => Promise<T>, o: RetryOptions): Promise<T> {
  const maxMs = o.maxMs ?? 120_000;
  const base = o.baseDelayMs ?? 50;
  const cap = o.maxDelayMs ?? 2_000;
  const transient = o.isTransient ?? isTransientDbError;
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await op(attempt);
    } catch (error) {
      const elapsed = Date.now() - started;
      if (!transient(error) || elapsed >= maxMs || o.signal?.aborted) throw error;
      const exp = Math.min(cap, base * 2 ** Math.min(attempt - 1, 16));
      const delayMs = Math.min(Math.round(exp / 2 + Math.random() * (exp / 2)), maxMs - elapsed);
      o.onRetry?.({ attempt, delayMs, error, what: o.what });
      await sleep(delayMs, o.signal);
    }
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
}

/**
 * True when `error` is a unique-key violation. Not transient in general, but two writers inserting
 * the same new row (two DAG processors parsing one new file) may retry the whole transaction: on the
 * second attempt the row exists and the update path runs.
 */
export function isUniqueViolation(error: unknown): boolean {
  for (let e = error as Record<string, unknown> | undefined, depth = 0; e && depth < 5; depth++) {
    if (e.code === "23505" || e.errno === 1062 || e.code === "ER_DUP_ENTRY") return true;
    if (typeof e.message === "string" && /UNIQUE constraint failed/i.test(e.message)) return true;
    e = e.cause as Record<string, unknown> | undefined;
  }
  return false;
}
