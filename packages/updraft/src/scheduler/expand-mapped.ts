/**
 * Expanding a mapped task once its trigger rule lets it run (Airflow's expand_mapped_task): the
 * lengths of what it maps over are read, and its instances 0..n-1 made scheduled in the run's
 * examination transaction. The placeholder instance (map index -1) becomes instance 0, so a task
 * instance is never both unexpanded and expanded. Expanded again after a clear, instances past the
 * new length become removed and missing ones are added.
 */
import type { Transaction } from "kysely";
import { mappedLength } from "../core/mapping.ts";
import type { SerializedDag, SerializedTask } from "../core/serialized.ts";
import type { Logger } from "../logging.ts";
import type { Database } from "../storage/database.ts";
import { sourceLengths } from "../storage/mapped-inputs.ts";
import type { DagRunRow, Tables } from "../storage/schema.ts";
import { fromDb } from "../storage/task-instances.ts";

export interface Instance {
  map_index: number;
  state: string | null;
}

export interface ExpandOptions {
  now: string;
  maxMapLength: number;
  log: Logger;
  /**
   * "scheduled" (default): the instances may run now. "none": they are made unstarted, each to be
   * decided by its own upstream (a task of a mapped task group, expanded as soon as its list is known).
   */
  initial?: "scheduled" | "none";
}

/** Expands `task` of `run`; returns its instances as they now are. */
export async function expandMapped(
  database: Database,
  trx: Transaction<Tables>,
  dag: SerializedDag,
  run: DagRunRow,
  task: SerializedTask,
  instances: readonly Instance[],
  o: ExpandOptions,
): Promise<Instance[]> {
  const where = { dagId: run.dag_id, runId: run.run_id, taskId: task.taskId };
  const read = await sourceLengths({ ...database, db: trx }, dag, run.id, task.expand!);
  if ("problem" in read) {
    // Nothing pushed (an upstream that was skipped, or returned nothing): skipped, as Airflow does.
    const to = read.problem.missing ? "skipped" : "failed";
    o.log.warn({ ...where, state: to }, `mapped task not expanded: ${read.problem.message}`);
    return settle(trx, run, task, instances, to, o.now);
  }
  const length = mappedLength(read.lengths);
  if (length > o.maxMapLength) {
    o.log.error(
      { ...where, length, maxMapLength: o.maxMapLength },
      `mapped task failed: it would have ${length} instances, over [core] max_map_length (${o.maxMapLength}); map over fewer elements or raise the setting`,
    );
    return settle(trx, run, task, instances, "failed", o.now);
  }
  if (length === 0) {
    o.log.info(where, "mapped task skipped: it maps over an empty list");
    return settle(trx, run, task, instances, "skipped", o.now);
  }
  const out = await revise(trx, run, task, instances, length, o.now, o.initial ?? "scheduled");
  o.log.debug({ ...where, length }, "mapped task expanded");
  return out;
}

async function revise(
  trx: Transaction<Tables>,
  run: DagRunRow,
  task: SerializedTask,
  instances: readonly Instance[],
  length: number,
  now: string,
  initial: "scheduled" | "none",
): Promise<Instance[]> {
  const key = trx
    .updateTable("task_instance")
    .where("dag_id", "=", run.dag_id)
    .where("run_id", "=", run.run_id)
    .where("task_id", "=", task.taskId);
  const out: Instance[] = [];
  const have = new Map(instances.map((i) => [i.map_index, i]));
  const template = await trx
    .selectFrom("task_instance")
    .selectAll()
    .where("dag_id", "=", run.dag_id)
    .where("run_id", "=", run.run_id)
    .where("task_id", "=", task.taskId)
    .orderBy("map_index")
    .executeTakeFirst();
  if (!template) return [];
  const scheduled =
    initial === "scheduled"
      ? { state: "scheduled", scheduled_dttm: now, updated_at: now }
      : { state: null, updated_at: now };
  const state = initial === "scheduled" ? "scheduled" : null;
  let first = 0;
  const placeholder = have.get(-1);
  if (placeholder) {
    if (placeholder.state !== null) return [...instances];
    const moved = await key
      .set({ ...scheduled, map_index: 0 })
      .where("map_index", "=", -1)
      .where("state", "is", null)
      .executeTakeFirst();
    // Moved by another process meanwhile: its next examination sees what it did.
    if (Number(moved.numUpdatedRows) !== 1) return [...instances];
    out.push({ map_index: 0, state });
    first = 1;
  }
  const added = [];
  for (let i = first; i < length; i++) {
    const current = have.get(i);
    if (!current) {
      added.push({
        dag_id: run.dag_id,
        run_id: run.run_id,
        task_id: task.taskId,
        map_index: i,
        dag_run_id: run.id,
        state,
        try_number: 0,
        max_tries: task.retries,
        operator: template.operator,
        pool: template.pool,
        pool_slots: template.pool_slots,
        queue: template.queue,
        priority_weight: template.priority_weight,
        scheduled_dttm: state === null ? null : now,
        updated_at: now,
        dag_version_id: template.dag_version_id,
      });
      out.push({ map_index: i, state });
    } else if (initial === "scheduled" && (current.state === null || fromDb(current.state) === "none")) {
      const moved = await key
        .set(scheduled)
        .where("map_index", "=", i)
        .where("state", "is", null)
        .executeTakeFirst();
      out.push({ map_index: i, state: Number(moved.numUpdatedRows) === 1 ? "scheduled" : current.state });
    } else out.push(current);
  }
  for (let i = 0; i < added.length; i += 200)
    await trx
      .insertInto("task_instance")
      .values(added.slice(i, i + 200))
      .execute();
  // Instances past the length (the upstream's output got shorter since the last expansion).
  for (const extra of instances.filter((x) => x.map_index >= length)) {
    if (extra.state !== null) {
      out.push(extra);
      continue;
    }
    await key
      .set({ state: "removed", end_date: now, updated_at: now })
      .where("map_index", "=", extra.map_index)
      .where("state", "is", null)
      .execute();
    out.push({ map_index: extra.map_index, state: "removed" });
  }
  return out;
}

/** Every unstarted instance of the task to `to`, ended now. */
async function settle(
  trx: Transaction<Tables>,
  run: DagRunRow,
  task: SerializedTask,
  instances: readonly Instance[],
  to: "skipped" | "failed",
  now: string,
): Promise<Instance[]> {
  await trx
    .updateTable("task_instance")
    .set({ state: to, end_date: now, updated_at: now })
    .where("dag_id", "=", run.dag_id)
    .where("run_id", "=", run.run_id)
    .where("task_id", "=", task.taskId)
    .where("state", "is", null)
    .execute();
  return instances.map((i) => (i.state === null ? { ...i, state: to } : i));
}
