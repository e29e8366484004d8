/**
 * A SQLite reader off the main thread: its own connection to the database file, read-only, answering
 * `{ id, sql, params }` with `{ id, rows }` or `{ id, error }`. WAL lets it read while the main
 * thread's connection writes; each statement sees what was committed when it started.
 */
import { DatabaseSync } from "node:sqlite";
import { parentPort, workerData } from "node:worker_threads";
import { statementCache } from "./statements.ts";

export interface ReadRequest {
  id: number;
  sql: string;
  params: unknown[];
}

export type ReadAnswer =
  | { id: number; rows: unknown[] }
  | { id: number; error: { message: string; code?: string; errcode?: number; errstr?: string } };

const { path } = workerData as { path: string };
const db = new DatabaseSync(path);
// A reader never writes (query_only), and waits for a writer's lock instead of failing.
db.exec("PRAGMA busy_timeout = 10000; PRAGMA query_only = 1;");
const statement = statementCache(db);

parentPort!.on("message", ({ id, sql, params }: ReadRequest) => {
  let answer: ReadAnswer;
  try {
    answer = { id, rows: statement(sql).all(...(params as never[])) };
  } catch (error) {
    const e = error as Error & { code?: string; errcode?: number; errstr?: string };
    answer = { id, error: { message: e.message, code: e.code, errcode: e.errcode, errstr: e.errstr } };
  }
  parentPort!.postMessage(answer);
});
