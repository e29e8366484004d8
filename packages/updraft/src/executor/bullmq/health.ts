/**
 * What webservers show of a distributed installation, read from Redis: the workers (registry.ts) and
 * the depth of each queue. One lazy connection per process, opened on the first question; a Redis
 * that does not answer within two seconds is reported as such, never waited on.
 */
import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import type { Config } from "../../config/load.ts";
import type { Logger } from "../../logging.ts";
import { bullQueueName } from "./executor.ts";
import { bullConnection, bullSettings, connectRedis } from "./redis.ts";
import { workerRegistry, type WorkerHealth } from "./registry.ts";

export interface QueueDepth {
  queue: string;
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
}

export class DistributedHealth {
  readonly #config: Config;
  readonly #log: Logger;
  #redis: Redis | undefined;
  readonly #queues = new Map<string, Queue>();

  constructor(config: Config, log: Logger) {
    this.#config = config;
    this.#log = log;
  }

  get enabled(): boolean {
    return this.#config.values.core.executor === "bullmq";
  }

  async workers(): Promise<WorkerHealth[]> {
    if (!this.enabled) return [];
    return timed(workerRegistry(this.#connection(), bullSettings(this.#config).prefix).list());
  }

  /** Depths of the queues workers take from (and `default`). */
  async queues(workers?: WorkerHealth[]): Promise<QueueDepth[]> {
    if (!this.enabled) return [];
    const names = new Set(["default", ...(workers ?? (await this.workers())).flatMap((w) => w.queues)]);
    return Promise.all(
      [...names].sort().map(async (name) => {
        const counts = await timed(
          this.#queue(name).getJobCounts("waiting", "active", "delayed", "failed", "prioritized"),
        );
        return {
          queue: name,
          waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0),
          active: counts.active ?? 0,
          delayed: counts.delayed ?? 0,
          failed: counts.failed ?? 0,
        };
      }),
    );
  }

  async close(): Promise<void> {
    await Promise.all([...this.#queues.values()].map((q) => q.close().catch(() => undefined)));
    this.#redis?.disconnect();
  }

  #connection(): Redis {
    this.#redis ??= connectRedis(bullSettings(this.#config), "webserver", this.#log);
    return this.#redis;
  }

  #queue(name: string): Queue {
    let queue = this.#queues.get(name);
    if (!queue) {
      const settings = bullSettings(this.#config);
      queue = new Queue(bullQueueName(name), {
        connection: bullConnection(settings, "webserver"),
        prefix: settings.prefix,
      });
      queue.on("error", () => undefined);
      this.#queues.set(name, queue);
    }
    return queue;
  }
}

function timed<T>(promise: Promise<T>, ms = 2_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Redis did not answer within ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error as Error);
      },
    );
  });
}
