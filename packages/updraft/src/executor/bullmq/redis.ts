/**
 * Redis for the BullMQ executor: one way to connect, shared by schedulers, webservers and workers.
 * Connections never give up: a Redis restart (or a failover) is retried with backoff while commands
 * wait in ioredis's offline queue, so no process exits because Redis went away. Each transition
 * (lost, back) is logged once.
 */
import { readFileSync } from "node:fs";
import type { ConnectionOptions } from "bullmq";
import { Redis, type RedisOptions } from "ioredis";
import type { Config } from "../../config/load.ts";
import type { Logger } from "../../logging.ts";

export interface BullSettings {
  url: string;
  prefix: string;
  tlsCaFile: string;
}

export function bullSettings(config: Config): BullSettings {
  const b = config.values.bullmq;
  return { url: b.redis_url, prefix: b.key_prefix, tlsCaFile: b.tls_ca_file };
}

/** The URL without its password, for logs. */
export function redactRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(an unparseable Redis URL)";
  }
}

export function redisOptions(s: BullSettings, name: string): RedisOptions {
  const url = new URL(s.url);
  if (url.protocol !== "redis:" && url.protocol !== "rediss:")
    throw new Error(
      `[bullmq] redis_url must start with redis:// or rediss:// (got ${redactRedisUrl(s.url)})`,
    );
  const tls =
    url.protocol === "rediss:" ? { ...(s.tlsCaFile ? { ca: readFileSync(s.tlsCaFile) } : {}) } : undefined;
  return {
    host: url.hostname || "127.0.0.1",
    port: Number(url.port || 6379),
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    db: url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0,
    tls,
    connectionName: `updraft-${name}`,
    // BullMQ's blocking commands need these: a command waits for the connection to come back.
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    // Reconnect for ever, backing off to 2 s between attempts.
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2_000),
    connectTimeout: 10_000,
  };
}

/** The same settings for the connections BullMQ opens itself (queues, events, workers). */
export function bullConnection(s: BullSettings, name: string): ConnectionOptions {
  return redisOptions(s, name) as unknown as ConnectionOptions;
}

/** A connection that logs when Redis goes away and when it is back, once each. */
export function connectRedis(s: BullSettings, name: string, log: Logger): Redis {
  const redis = new Redis(redisOptions(s, name));
  const where = redactRedisUrl(s.url);
  let down: number | null = null;
  redis.on("error", (error: Error) => {
    if (down !== null) return;
    down = Date.now();
    log.warn({ err: error, redis: where }, `Redis unreachable (${error.message}); reconnecting`);
  });
  redis.on("ready", () => {
    if (down === null) return;
    log.info(
      { redis: where, downSeconds: Math.round((Date.now() - down) / 100) / 10 },
      "Redis reachable again",
    );
    down = null;
  });
  return redis;
}
