/**
 * SQLite through Node's built-in `node:sqlite` (no native build step to approve). Kysely's SQLite
 * dialect expects better-sqlite3's statement shape; `toKyselyDatabase` adapts DatabaseSync to it.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { SqliteDialect, type SqliteDatabase, type SqliteStatement } from "kysely";
import type { DialectAdapter } from "../../dialect.ts";

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
    createKyselyDialect: () => new SqliteDialect({ database: async () => openSqlite(path) }),
  };
}

function openSqlite(path: string): SqliteDatabase {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const db = new DatabaseSync(path);
  // WAL lets readers (the API, the CLI) work while a scheduler writes; the busy timeout makes
  // concurrent writers from several processes wait instead of failing at once.
  db.exec(
    "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;",
  );
  return toKyselyDatabase(db);
}

/** node:sqlite cannot bind booleans or Dates; Updraft stores flags as 0/1 and times as ISO text. */
function bindable(value: unknown): unknown {
  if (typeof value === "boolean") return value ? 1 : 0;
  if (value instanceof Date) return value.toISOString();
  return value;
}

export function toKyselyDatabase(db: DatabaseSync): SqliteDatabase {
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
        run: (params) => stmt.run(...args(params)),
        iterate: (params) => stmt.iterate(...args(params)),
      };
    },
  };
}
