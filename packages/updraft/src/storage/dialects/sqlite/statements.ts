/** Prepared statements kept per connection (the main one and each reader thread's), by SQL text. */
import type { DatabaseSync, StatementSync } from "node:sqlite";

/** At most this many; past it the cache starts again (a handful of shapes repeat all day). */
const MAX_STATEMENTS = 500;
/**
 * Longer statements are batches (a row of values per task instance): their shape changes with the
 * batch's size, so kept they would fill the cache with large programs used once.
 */
const MAX_CACHED_SQL = 2048;

export function statementCache(db: DatabaseSync): (sql: string) => StatementSync {
  const cache = new Map<string, StatementSync>();
  return (sql) => {
    let stmt = cache.get(sql);
    if (!stmt) {
      stmt = db.prepare(sql);
      if (sql.length > MAX_CACHED_SQL) return stmt;
      if (cache.size > MAX_STATEMENTS) cache.clear();
      cache.set(sql, stmt);
    }
    return stmt;
  };
}
