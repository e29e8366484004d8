/** XCom: the values tasks pass on, JSON, keyed by run, task, map index and key. */
import { InvalidInputError } from "../core/errors.ts";
import type { Database } from "./database.ts";
import { nowIso } from "./database.ts";
import { upsert } from "./upsert.ts";

export const RETURN_VALUE = "return_value";

export interface XComKey {
  dagRunId: number;
  dagId: string;
  runId: string;
  taskId: string;
  mapIndex?: number;
  key?: string;
}

/** Serializes a value for XCom, refusing what JSON cannot carry and what passes the size limit. */
export function encodeXCom(value: unknown, maxBytes: number, where: string): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new InvalidInputError(
      `${where}: the value cannot be stored as XCom, it is not JSON (${(error as Error).message})`,
    );
  }
  if (text === undefined)
    throw new InvalidInputError(`${where}: the value cannot be stored as XCom, it is not JSON`);
  const bytes = Buffer.byteLength(text);
  if (bytes > maxBytes) {
    throw new InvalidInputError(
      `${where}: the XCom value is ${bytes} bytes, over the ${maxBytes}-byte limit (core.xcom_max_size): pass a reference (a path, a key) instead of the data`,
    );
  }
  return text;
}

export function xcomStore(database: Database) {
  const { db } = database;
  /** The entry, if one was pushed: `{ value }` (undefined for a stored null), else undefined. */
  const find = async (
    dagRunId: number,
    taskId: string,
    key = RETURN_VALUE,
    mapIndex = -1,
  ): Promise<{ value: unknown } | undefined> => {
    const row = await db
      .selectFrom("xcom")
      .select("value")
      .where("dag_run_id", "=", dagRunId)
      .where("task_id", "=", taskId)
      .where("map_index", "=", mapIndex)
      .where("key", "=", key)
      .executeTakeFirst();
    if (!row) return undefined;
    return { value: row.value == null ? undefined : JSON.parse(row.value) };
  };
  const ofMapped = (dagRunId: number, taskId: string, key: string) =>
    db
      .selectFrom("xcom")
      .where("dag_run_id", "=", dagRunId)
      .where("task_id", "=", taskId)
      .where("key", "=", key)
      .where("map_index", ">=", 0);
  return {
    async push(key: XComKey, encoded: string, now = nowIso()): Promise<void> {
      const row = {
        dag_run_id: key.dagRunId,
        task_id: key.taskId,
        map_index: key.mapIndex ?? -1,
        key: key.key ?? RETURN_VALUE,
        dag_id: key.dagId,
        run_id: key.runId,
        value: encoded,
        timestamp: now,
      };
      await upsert(
        database,
        db,
        "xcom",
        row,
        ["dag_run_id", "task_id", "map_index", "key"],
        ["value", "timestamp"],
      );
    },

    /** The decoded value, or undefined when the task pushed nothing under that key. */
    async pull(dagRunId: number, taskId: string, key = RETURN_VALUE, mapIndex = -1): Promise<unknown> {
      return (await find(dagRunId, taskId, key, mapIndex))?.value;
    },

    find,

    /** A mapped task's values under `key`, in map-index order (instances that pushed none left out). */
    async mapped(dagRunId: number, taskId: string, key = RETURN_VALUE): Promise<unknown[]> {
      const rows = await ofMapped(dagRunId, taskId, key).select("value").orderBy("map_index").execute();
      return rows.map((r) => (r.value == null ? null : (JSON.parse(r.value) as unknown)));
    },

    /** How many instances of a mapped task pushed `key` (counted, not read). */
    async countMapped(dagRunId: number, taskId: string, key = RETURN_VALUE): Promise<number> {
      const row = await ofMapped(dagRunId, taskId, key)
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },

    /** Every entry of these tasks in the run, decoded (what a template's `ti.xcom_pull` reads). */
    async ofTasks(dagRunId: number, taskIds: readonly string[]) {
      if (taskIds.length === 0) return [];
      const rows = await db
        .selectFrom("xcom")
        .select(["task_id", "map_index", "key", "value"])
        .where("dag_run_id", "=", dagRunId)
        .where("task_id", "in", [...new Set(taskIds)])
        .execute();
      return rows.map((r) => ({ ...r, value: r.value == null ? null : (JSON.parse(r.value) as unknown) }));
    },

    async list(dagRunId: number, taskId?: string) {
      let q = db.selectFrom("xcom").selectAll().where("dag_run_id", "=", dagRunId);
      if (taskId) q = q.where("task_id", "=", taskId);
      return q.orderBy("task_id").orderBy("key").execute();
    },

    /** Deletes one entry; false when there was none. */
    async delete(dagRunId: number, taskId: string, key: string, mapIndex = -1): Promise<boolean> {
      const result = await db
        .deleteFrom("xcom")
        .where("dag_run_id", "=", dagRunId)
        .where("task_id", "=", taskId)
        .where("map_index", "=", mapIndex)
        .where("key", "=", key)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },

    /** A task's XComs go when it is cleared or retried, so downstream never reads a stale value. */
    async clear(dagRunId: number, taskId: string, mapIndex = -1): Promise<void> {
      await db
        .deleteFrom("xcom")
        .where("dag_run_id", "=", dagRunId)
        .where("task_id", "=", taskId)
        .where("map_index", "=", mapIndex)
        .execute();
    },
  };
}
export type XComStore = ReturnType<typeof xcomStore>;
