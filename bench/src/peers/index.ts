/**
 * Every peer of the comparison, by key. Each is imported only when its row runs, so a peer whose
 * package fails to load fails its own rows and nothing else.
 */
import type { Peer } from "../workloads.ts";

export interface PeerEntry {
  key: string;
  label: string;
  backend: string;
  load: () => Promise<Peer>;
}

export const PEERS: PeerEntry[] = [
  {
    key: "updraft-sqlite",
    label: "Updraft",
    backend: "sqlite",
    load: async () => (await import("./updraft-process.ts")).updraftProcessPeer("sqlite"),
  },
  {
    key: "updraft-postgres",
    label: "Updraft",
    backend: "postgres",
    load: async () => (await import("./updraft-process.ts")).updraftProcessPeer("postgres"),
  },
  {
    key: "updraft-mysql",
    label: "Updraft",
    backend: "mysql",
    load: async () => (await import("./updraft-process.ts")).updraftProcessPeer("mysql"),
  },
  {
    // The scheduler's code in the bench's own process, task logs discarded: what the code costs
    // without a process boundary or log files (an extra row, not a figure users get).
    key: "updraft-harness-sqlite",
    label: "Updraft (in-process harness, no logs)",
    backend: "sqlite",
    load: async () => (await import("./updraft.ts")).updraftPeer("sqlite"),
  },
  {
    key: "bullmq-redis",
    label: "BullMQ",
    backend: "redis",
    load: async () => (await import("./bullmq.ts")).bullmqPeer("redis"),
  },
  {
    key: "bullmq-postgres",
    label: "BullMQ",
    backend: "postgres",
    load: async () => (await import("./bullmq.ts")).bullmqPeer("postgres"),
  },
  {
    key: "dbos",
    label: "DBOS",
    backend: "postgres",
    load: async () => (await import("./dbos.ts")).dbosPeer(),
  },
  {
    key: "restate",
    label: "Restate",
    backend: "own log (RocksDB)",
    load: async () => (await import("./restate.ts")).restatePeer(),
  },
  {
    key: "graphile-worker",
    label: "graphile-worker",
    backend: "postgres",
    load: async () => (await import("./graphile.ts")).graphilePeer(),
  },
  {
    key: "pg-boss",
    label: "pg-boss",
    backend: "postgres",
    load: async () => (await import("./pgboss.ts")).pgBossPeer(),
  },
  {
    key: "mastra",
    label: "Mastra workflows",
    backend: "in-memory",
    load: async () => (await import("./mastra.ts")).mastraPeer(),
  },
  {
    key: "celery",
    label: "Celery",
    backend: "redis",
    load: async () => (await import("./celery.ts")).celeryPeer(),
  },
];
