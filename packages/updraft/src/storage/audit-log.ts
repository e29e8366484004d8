/** The audit log: who did what to which DAG, run or task. Rows are only ever added. */
import type { Database } from "./database.ts";
import { nowIso } from "./database.ts";

export interface AuditEntry {
  event: string;
  owner: string;
  dagId?: string | null;
  taskId?: string | null;
  runId?: string | null;
  mapIndex?: number | null;
  tryNumber?: number | null;
  /** Stored as JSON. */
  extra: Record<string, unknown>;
}

export async function recordAudit(database: Database, e: AuditEntry, now = nowIso()): Promise<void> {
  await database.db
    .insertInto("audit_log")
    .values({
      dttm: now,
      event: e.event,
      owner: e.owner,
      dag_id: e.dagId ?? null,
      task_id: e.taskId ?? null,
      run_id: e.runId ?? null,
      map_index: e.mapIndex ?? null,
      try_number: e.tryNumber ?? null,
      extra: JSON.stringify(e.extra),
    })
    .execute();
}
