/**
 * Operator extra links (Airflow's BaseOperatorLink): a trigger_dagrun task links to the run it
 * triggered ("Triggered DAG", as Airflow's TriggerDagRunLink), read from its XCom trigger_run_id; null
 * until it has triggered one. The address is the UI's page of that DAG with the run selected.
 */
import type { SerializedTask } from "../../core/serialized.ts";
import { TRIGGER_RUN_ID_XCOM } from "../../sdk/index.ts";
import type { Database } from "../../storage/database.ts";
import type { TaskInstanceRow } from "../../storage/schema.ts";
import { xcomStore } from "../../storage/xcom.ts";

export async function extraLinks(
  database: Database,
  task: SerializedTask,
  ti: TaskInstanceRow,
): Promise<Record<string, string | null>> {
  if (task.kind !== "trigger_dagrun") return {};
  const runId = await xcomStore(database).pull(ti.dag_run_id, ti.task_id, TRIGGER_RUN_ID_XCOM, ti.map_index);
  const dagId = renderedDagId(ti) ?? String(task.templateFields.dagId ?? "");
  if (typeof runId !== "string" || dagId === "") return { "Triggered DAG": null };
  return { "Triggered DAG": `/dags/${encodeURIComponent(dagId)}?run=${encodeURIComponent(runId)}` };
}

/** The DAG id as the try rendered it (it is templated). */
function renderedDagId(ti: TaskInstanceRow): string | undefined {
  if (!ti.rendered_fields) return undefined;
  try {
    const fields = JSON.parse(ti.rendered_fields) as { dagId?: unknown };
    return typeof fields.dagId === "string" && fields.dagId !== "" ? fields.dagId : undefined;
  } catch {
    return undefined;
  }
}
