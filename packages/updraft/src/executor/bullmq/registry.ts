/**
 * Worker health, kept in Redis so a worker needs no credential of its own: each worker writes its
 * record (hostname, queues, concurrency, the tries it runs) and a liveness key that Redis expires
 * after [bullmq] worker_timeout unless the worker renews it. Expiry is Redis's clock, so machines'
 * clocks need not agree. Schedulers read the registry to find dead workers (their tries fail and are
 * retried elsewhere); webservers read it for the API, the UI and /metrics.
 *
 *   <prefix>:workers            set of worker ids
 *   <prefix>:worker:<id>        hash: the record (JSON in field "record")
 *   <prefix>:worker:<id>:alive  liveness key with a time to live
 */
import type { Redis } from "ioredis";

export interface TryRef {
  dagId: string;
  runId: string;
  taskId: string;
  mapIndex: number;
  tryNumber: number;
}

export interface WorkerRecord {
  id: string;
  hostname: string;
  pid: number;
  queues: string[];
  concurrency: number;
  version: string;
  startedAt: string;
  lastHeartbeat: string;
  state: "running" | "stopping";
  running: TryRef[];
}

export interface WorkerHealth extends WorkerRecord {
  alive: boolean;
}

export function workerRegistry(redis: Redis, prefix: string) {
  const set = `${prefix}:workers`;
  const hash = (id: string) => `${prefix}:worker:${id}`;
  const alive = (id: string) => `${prefix}:worker:${id}:alive`;
  return {
    /** Writes the record and renews the liveness key for `ttlMs`. */
    async beat(record: WorkerRecord, ttlMs: number): Promise<void> {
      await redis
        .multi()
        .sadd(set, record.id)
        .hset(hash(record.id), "record", JSON.stringify(record))
        .set(alive(record.id), "1", "PX", ttlMs)
        .exec();
    },

    /** A worker that stopped cleanly leaves the registry. */
    async leave(id: string): Promise<void> {
      await redis.multi().srem(set, id).del(hash(id), alive(id)).exec();
    },

    async list(): Promise<WorkerHealth[]> {
      const ids = await redis.smembers(set);
      if (ids.length === 0) return [];
      const pipeline = redis.pipeline();
      for (const id of ids) pipeline.hget(hash(id), "record").exists(alive(id));
      const replies = (await pipeline.exec()) ?? [];
      const workers: WorkerHealth[] = [];
      ids.forEach((id, i) => {
        const raw = replies[2 * i]?.[1] as string | null;
        const isAlive = replies[2 * i + 1]?.[1] === 1;
        if (!raw) return;
        try {
          workers.push({ ...(JSON.parse(raw) as WorkerRecord), id, alive: isAlive });
        } catch {
          // A record another version wrote: skipped.
        }
      });
      return workers.sort((a, b) => a.hostname.localeCompare(b.hostname) || a.id.localeCompare(b.id));
    },

    /**
     * Removes a dead worker's record; true for the one caller that removed it (so one scheduler
     * reports it, though any may handle its tries: that is fenced in the database).
     */
    async forget(id: string): Promise<boolean> {
      const [[, removed] = []] = (await redis.multi().srem(set, id).del(hash(id)).exec()) ?? [];
      return removed === 1;
    },
  };
}

export type WorkerRegistry = ReturnType<typeof workerRegistry>;
