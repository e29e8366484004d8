/** Small helpers shared by the harness and the peers: clocks, task bodies, process memory, services. */
import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { promisify } from "node:util";
import pg from "pg";

export const POSTGRES_URL = process.env.BENCH_POSTGRES_URL ?? "postgresql://postgres@127.0.0.1:5432/test";
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";
/** Concurrent task slots every peer gets for the no-op and bash workloads (Updraft's [core] parallelism). */
export const PARALLELISM = Number(process.env.BENCH_PARALLELISM ?? 32);

/** Wall-clock milliseconds with sub-millisecond resolution (comparable across processes on one host). */
export const now = (): number => performance.timeOrigin + performance.now();
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
export const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);

const execFileP = promisify(execFile);

/** What a task does: nothing, run `true` (fork + exec), or run `sleep S` (the memory workload). */
export type Body = { kind: "noop" } | { kind: "bash" } | { kind: "sleep"; seconds: number };

export async function runBody(body: Body): Promise<void> {
  if (body.kind === "bash") await execFileP("true");
  else if (body.kind === "sleep") await execFileP("sleep", [String(body.seconds)]);
}

/** A PostgreSQL URL for a database of this name on the same server. */
export function databaseUrl(name: string): string {
  return Object.assign(new URL(POSTGRES_URL), { pathname: `/${name}` }).toString();
}

/** Drops and creates a dedicated database, so every setup starts from empty tables. */
export async function freshDatabase(name: string): Promise<string> {
  const client = new pg.Client(POSTGRES_URL);
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
  return databaseUrl(name);
}

export async function dropDatabase(name: string): Promise<void> {
  const client = new pg.Client(POSTGRES_URL);
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

interface ProcInfo {
  pid: number;
  ppid: number;
  comm: string;
  rssBytes: number;
}

function readProcs(): ProcInfo[] {
  const out: ProcInfo[] = [];
  const page = 4096;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      const comm = stat.slice(stat.indexOf("(") + 1, close);
      const fields = stat.slice(close + 2).split(" ");
      // fields[0] is state, [1] ppid, ..., [21] rss in pages (field 24 of stat).
      out.push({ pid: Number(entry), ppid: Number(fields[1]), comm, rssBytes: Number(fields[21]) * page });
    } catch {
      // The process ended while we read.
    }
  }
  return out;
}

/**
 * RSS of the given processes and all their descendants, leaving out the tasks' own payload
 * processes (`sleep`, `true`, the `bash` that runs them): what the orchestrator itself holds.
 */
export function treeRss(roots: number[]): { bytes: number; processes: number } {
  const procs = readProcs();
  const children = new Map<number, ProcInfo[]>();
  for (const p of procs) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  const byPid = new Map(procs.map((p) => [p.pid, p]));
  const payload = new Set(["sleep", "true", "bash", "sh"]);
  let bytes = 0;
  let processes = 0;
  const seen = new Set<number>();
  const visit = (p: ProcInfo) => {
    if (seen.has(p.pid)) return;
    seen.add(p.pid);
    if (payload.has(p.comm)) return; // a task's payload, and whatever it started
    bytes += p.rssBytes;
    processes++;
    for (const c of children.get(p.pid) ?? []) visit(c);
  };
  for (const r of roots) {
    const p = byPid.get(r);
    if (p) visit(p);
  }
  return { bytes, processes };
}

/** Waits until `check` is true, polling every `everyMs`; throws after `timeoutMs`. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 60_000,
  everyMs = 50,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

export const MYSQL_URL = process.env.BENCH_MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test";

/** Drops and creates a dedicated MySQL/MariaDB database; returns its URL. */
export async function freshMysqlDatabase(name: string): Promise<string> {
  const { createConnection } = await import("mysql2/promise");
  const connection = await createConnection(MYSQL_URL);
  try {
    await connection.query(`DROP DATABASE IF EXISTS \`${name}\``);
    await connection.query(`CREATE DATABASE \`${name}\``);
  } finally {
    await connection.end();
  }
  return Object.assign(new URL(MYSQL_URL), { pathname: `/${name}` }).toString();
}

export async function dropMysqlDatabase(name: string): Promise<void> {
  const { createConnection } = await import("mysql2/promise");
  const connection = await createConnection(MYSQL_URL);
  try {
    await connection.query(`DROP DATABASE IF EXISTS \`${name}\``);
  } finally {
    await connection.end();
  }
}
