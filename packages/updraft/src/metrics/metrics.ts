/**
 * Prometheus metrics (prom-client). The state of the installation (runs and task instances by state,
 * pool slots, the executor queue) is read from the database at scrape time, so any webserver or
 * scheduler reports the same numbers; what only a process knows (its loop time, the tasks it ran, its
 * HTTP requests) it counts itself.
 */
import { timingSafeEqual } from "node:crypto";
import { createServer, type Server } from "node:http";
import { sql } from "kysely";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import {
  ACTIVE_STATES,
  FINISHED_RUN_STATES,
  FINISHED_STATES,
  isFinished,
  isRunFinished,
  RUN_STATES,
  TASK_INSTANCE_STATES,
} from "../core/states.ts";
import type { Database } from "../storage/database.ts";

export interface SchedulerMetrics {
  loopSeconds: Histogram<"kind">;
  taskDurationSeconds: Histogram<"state" | "operator">;
  runsCreated: Counter;
  executorRunning: Gauge;
}

/** A registry with the process's own metrics and the installation's state from `database`. */
export function createRegistry(database: Database, service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry, prefix: "updraft_" });
  new Counter({
    name: "updraft_database_statements_total",
    help: "Statements this process sent to the metadata database (round trips; BEGIN and COMMIT count)",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(database.statements());
    },
  });
  const byState = (name: string, help: string, table: "dag_run" | "task_instance") => {
    const count = stateCounts(database, table);
    return new Gauge({
      name,
      help,
      labelNames: ["state"],
      registers: [registry],
      async collect() {
        const counts = await count();
        this.reset();
        for (const [state, n] of counts) this.set({ state }, n);
      },
    });
  };
  byState("updraft_dag_runs", "DAG runs by state", "dag_run");
  byState(
    "updraft_task_instances",
    "Task instances by state (queued = the executor's queue)",
    "task_instance",
  );
  new Gauge({
    name: "updraft_pool_slots",
    help: "Slots per pool: total, and used by queued or running task instances",
    labelNames: ["pool", "kind"],
    registers: [registry],
    async collect() {
      this.reset();
      const pools = await database.db.selectFrom("slot_pool").select(["pool", "slots"]).execute();
      const used = await database.db
        .selectFrom("task_instance")
        .select(["pool", sql<number>`sum(pool_slots)`.as("used")])
        .where("state", "in", ACTIVE_STATES)
        .groupBy("pool")
        .execute();
      const usedBy = new Map(used.map((u) => [u.pool, Number(u.used)]));
      for (const p of pools) {
        this.set({ pool: p.pool, kind: "total" }, p.slots);
        this.set({ pool: p.pool, kind: "used" }, usedBy.get(p.pool) ?? 0);
      }
    },
  });
  return registry;
}

/** How long the counts of finished states are reused: they only grow, and counting them reads the table. */
const FINISHED_COUNTS_MS = 60_000;

/**
 * Rows by state, for a scrape. What moves (unfinished states, a few rows, through the state index) is
 * counted at every scrape; the finished states (nearly every row of a table of millions) are counted
 * at most once a minute, in the background after the first time, so a scrape stays fast.
 */
export function stateCounts(
  database: Database,
  table: "dag_run" | "task_instance",
  clock: () => number = Date.now,
): () => Promise<Map<string, number>> {
  const { finished, unfinished }: { finished: string[]; unfinished: string[] } =
    table === "dag_run"
      ? { finished: [...FINISHED_RUN_STATES], unfinished: RUN_STATES.filter((s) => !isRunFinished(s)) }
      : { finished: [...FINISHED_STATES], unfinished: TASK_INSTANCE_STATES.filter((s) => !isFinished(s)) };
  // Each a search of the state index (an OR with IS NULL would scan all of it).
  const query = (states: string[] | null) =>
    database.db
      .selectFrom(table)
      .select(["state", sql<number>`count(*)`.as("n")])
      .where("state", states ? "in" : "is", states ?? null)
      .groupBy("state")
      .execute();
  const count = async (which: "finished" | "unfinished") => {
    const rows =
      which === "finished" ? await query(finished) : [...(await query(unfinished)), ...(await query(null))];
    const counts = new Map<string, number>();
    for (const r of rows) counts.set(r.state ?? "none", (counts.get(r.state ?? "none") ?? 0) + Number(r.n));
    return counts;
  };
  let done: { at: number; counts: Map<string, number> } | undefined;
  let refreshing: Promise<void> | undefined;
  const refresh = () =>
    (refreshing ??= count("finished")
      .then((counts) => void (done = { at: clock(), counts }))
      .finally(() => (refreshing = undefined)));
  return async () => {
    if (!done) await refresh();
    else if (clock() - done.at > FINISHED_COUNTS_MS) refresh().catch(() => undefined);
    const live = await count("unfinished");
    return new Map([...(done?.counts ?? []), ...live]);
  };
}

export function schedulerMetrics(registry: Registry): SchedulerMetrics {
  return {
    loopSeconds: new Histogram({
      name: "updraft_scheduler_loop_seconds",
      help: "Time of one scheduler iteration (light: after tasks finished; full: on the loop interval)",
      labelNames: ["kind"],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers: [registry],
    }),
    taskDurationSeconds: new Histogram({
      name: "updraft_task_duration_seconds",
      help: "Duration of task tries run by this scheduler, by outcome and operator",
      labelNames: ["state", "operator"],
      buckets: [0.01, 0.1, 1, 10, 60, 300, 1800, 7200],
      registers: [registry],
    }),
    runsCreated: new Counter({
      name: "updraft_scheduler_runs_created_total",
      help: "DAG runs created by this scheduler",
      registers: [registry],
    }),
    executorRunning: new Gauge({
      name: "updraft_executor_running",
      help: "Task instances this scheduler's executor is running",
      registers: [registry],
    }),
  };
}

/** Serves `registry` at /metrics on its own port (the scheduler has no other HTTP server). */
export function serveMetrics(registry: Registry, port: number, host: string, token = ""): Promise<Server> {
  const server = createServer((request, response) => {
    if (request.url !== "/metrics") {
      response.writeHead(404).end("see /metrics\n");
      return;
    }
    if (!bearerMatches(request.headers.authorization, token)) {
      response
        .writeHead(401, { "www-authenticate": "Bearer" })
        .end("send Authorization: Bearer <[metrics] bearer_token>\n");
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { "content-type": registry.contentType }).end(text),
      (error: Error) => response.writeHead(500).end(`metrics failed: ${error.message}\n`),
    );
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve(server));
  });
}

/** Whether a request may read /metrics: no token configured, or the right one sent (compared in constant time). */
export function bearerMatches(header: string | undefined, token: string): boolean {
  if (!token) return true;
  const sent = Buffer.from(header?.startsWith("Bearer ") ? header.slice(7).trim() : "");
  const want = Buffer.from(token);
  return sent.length === want.length && timingSafeEqual(sent, want);
}

/** The value of the sample `name` whose labels include `labels` (label order varies), or undefined. */
export function sampleOf(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split("\n")) {
    const m = /^(\w+)\{(.*)\} (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...m[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

/** Queue depths and worker counts of a distributed installation (the webserver's /metrics). */
export function distributedMetrics(
  registry: Registry,
  source: {
    workers(): Promise<{ alive: boolean; running: unknown[] }[]>;
    queues(
      workers?: never,
    ): Promise<{ queue: string; waiting: number; active: number; delayed: number; failed: number }[]>;
  },
): void {
  let last: Promise<{
    workers: { alive: boolean; running: unknown[] }[];
    queues: Awaited<ReturnType<typeof source.queues>>;
  }> | null = null;
  let at = 0;
  // Both gauges of one scrape share one read of Redis.
  const read = () => {
    if (!last || Date.now() - at > 1000) {
      at = Date.now();
      last = source
        .workers()
        .then(async (workers) => ({ workers, queues: await source.queues(workers as never) }));
      last.catch(() => (last = null));
    }
    return last;
  };
  new Gauge({
    name: "updraft_bullmq_queue_jobs",
    help: "Jobs (task tries) in each BullMQ queue by state: waiting, active, delayed, failed",
    labelNames: ["queue", "state"],
    registers: [registry],
    async collect() {
      this.reset();
      const { queues } = await read().catch(() => ({
        queues: [] as Awaited<ReturnType<typeof source.queues>>,
      }));
      for (const q of queues)
        for (const state of ["waiting", "active", "delayed", "failed"] as const)
          this.set({ queue: q.queue, state }, q[state]);
    },
  });
  new Gauge({
    name: "updraft_workers",
    help: "Workers registered in Redis, alive or dead (not heartbeating), and the tries they run",
    labelNames: ["kind"],
    registers: [registry],
    async collect() {
      this.reset();
      const { workers } = await read().catch(() => ({
        workers: [] as { alive: boolean; running: unknown[] }[],
      }));
      this.set({ kind: "alive" }, workers.filter((w) => w.alive).length);
      this.set({ kind: "dead" }, workers.filter((w) => !w.alive).length);
      this.set(
        { kind: "running_tries" },
        workers.reduce((n, w) => n + (w.alive ? w.running.length : 0), 0),
      );
    },
  });
}
