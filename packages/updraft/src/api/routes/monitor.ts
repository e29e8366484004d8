/** Health (the metadatabase and the scheduler's heartbeat, in Airflow's shape) and the version. */
import { VERSION } from "../../version.ts";
import type { ApiContext } from "../app.ts";

export function registerMonitorRoutes(ctx: ApiContext): void {
  ctx.route("get_health", async () => {
    let database: "healthy" | "unhealthy" = "healthy";
    let heartbeat: string | null = null;
    try {
      const job = await ctx.database.db
        .selectFrom("job")
        .select("latest_heartbeat")
        .where("job_type", "=", "scheduler")
        .where("state", "=", "running")
        .orderBy("latest_heartbeat", "desc")
        .limit(1)
        .executeTakeFirst();
      heartbeat = job?.latest_heartbeat ?? null;
    } catch {
      database = "unhealthy";
    }
    // Healthy: a scheduler beat within its heartbeat timeout (Airflow's scheduler_health_check_threshold).
    const limit = ctx.config.values.scheduler.task_heartbeat_timeout * 1000;
    const alive = heartbeat !== null && Date.parse(ctx.now()) - Date.parse(heartbeat) <= limit;
    return {
      metadatabase: { status: database },
      scheduler: { status: alive ? "healthy" : "unhealthy", latest_scheduler_heartbeat: heartbeat },
      triggerer: { status: null, latest_triggerer_heartbeat: null },
      dag_processor: { status: null, latest_dag_processor_heartbeat: null },
    };
  });

  ctx.route("get_version", async () => ({ version: VERSION, git_version: null }));
}
