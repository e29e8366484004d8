/** Health (the metadatabase, the scheduler's and the triggerer's heartbeats, in Airflow's shape) and the version. */
import { withTimeout } from "../../storage/health.ts";
import { TRIGGERER_JOB_TYPE } from "../../storage/triggers.ts";
import { VERSION } from "../../version.ts";
import type { ApiContext } from "../app.ts";

/**
 * Health answers within this even when the database hangs (a partition): a load balancer or a
 * liveness probe asking it must learn "unhealthy", not time out and restart a webserver that is fine.
 * (The shared probe of a database known to be away has the same limit, in storage/health.ts.)
 */
const PROBE_TIMEOUT_MS = 2_000;

export function registerMonitorRoutes(ctx: ApiContext): void {
  ctx.route("get_health", async () => {
    let database: "healthy" | "unhealthy" = "healthy";
    let heartbeat: string | null = null;
    let triggerer: { latest_heartbeat: string; state: string } | null = null;
    const health = ctx.database.health;
    try {
      // Known to be away: one shared probe says whether it is back (no query queues behind a dead pool).
      if (!health.reachable && !(await health.check())) throw health.lastError;
      const query = ctx.database.db
        .selectFrom("job")
        .select("latest_heartbeat")
        .where("job_type", "=", "scheduler")
        .where("state", "=", "running")
        .orderBy("latest_heartbeat", "desc")
        .limit(1)
        .executeTakeFirst();
      // Airflow's triggerer health: its most recent job, whatever its state (none ever: null).
      const triggererQuery = ctx.database.db
        .selectFrom("job")
        .select(["latest_heartbeat", "state"])
        .where("job_type", "=", TRIGGERER_JOB_TYPE)
        .orderBy("latest_heartbeat", "desc")
        .limit(1)
        .executeTakeFirst();
      const [job, triggererJob] = await withTimeout(Promise.all([query, triggererQuery]), PROBE_TIMEOUT_MS);
      heartbeat = job?.latest_heartbeat ?? null;
      triggerer = triggererJob ?? null;
    } catch (error) {
      database = "unhealthy";
      health.suspect(error);
    }
    // Healthy: a scheduler beat within its heartbeat timeout (Airflow's scheduler_health_check_threshold).
    const limit = ctx.config.values.scheduler.task_heartbeat_timeout * 1000;
    const beat = (at: string | null) => at !== null && Date.parse(ctx.now()) - Date.parse(at) <= limit;
    const alive = beat(heartbeat);
    const triggererAlive = triggerer?.state === "running" && beat(triggerer.latest_heartbeat);
    return {
      metadatabase: { status: database },
      executor: await executorHealth(ctx),
      scheduler: { status: alive ? "healthy" : "unhealthy", latest_scheduler_heartbeat: heartbeat },
      triggerer: {
        status: triggerer ? (triggererAlive ? "healthy" : "unhealthy") : null,
        latest_triggerer_heartbeat: triggerer?.latest_heartbeat ?? null,
      },
      dag_processor: { status: null, latest_dag_processor_heartbeat: null },
    };
  });

  ctx.route("get_version", async () => ({ version: VERSION, git_version: null }));
}

/**
 * Updraft extension: which executor runs tasks; with bullmq, whether Redis answers and how many
 * workers are alive (healthy: at least one).
 */
async function executorHealth(ctx: ApiContext) {
  const name = ctx.config.values.core.executor;
  if (!ctx.distributed.enabled) return { name, status: "healthy" };
  try {
    const workers = await ctx.distributed.workers();
    const alive = workers.filter((w) => w.alive).length;
    return { name, status: alive > 0 ? "healthy" : "unhealthy", redis: "healthy", workers_alive: alive };
  } catch {
    return { name, status: "unhealthy", redis: "unhealthy", workers_alive: null };
  }
}
