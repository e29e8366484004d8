/**
 * A distributed installation for tests, from real processes: a private Redis with AOF persistence
 * (so a test may restart it; the machine's shared Redis is never touched), a scheduler and a
 * webserver sharing one home (the database URL and the keys), and workers, each with a home of its
 * own that holds no database URL and no key: only [bullmq] redis_url and the execution API's URL.
 */
import { spawn, type ChildProcess } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startService, until, updraftHome, type ServiceProcess } from "./service-process.ts";

/**
 * A port for a service to listen on, below Linux's ephemeral range (32768 and up): a port the kernel
 * handed out there can be taken by any outgoing connection (a scheduler's to its database) before a
 * service that waits for something binds it. Checked free by listening on it.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = 10_000 + Math.floor(Math.random() * 22_000);
    const server = createServer();
    const bound = await new Promise<boolean>((resolve) => {
      server.once("error", () => resolve(false));
      server.listen(port, "127.0.0.1", () => resolve(true));
    });
    if (!bound) continue;
    await new Promise((resolve) => server.close(resolve));
    return port;
  }
}

export interface PrivateRedis {
  url: string;
  port: number;
  /** SHUTDOWN (AOF flushed, as `systemctl restart redis` does), then started again on the same data. */
  restart(downMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** redis-server on a free port, appendonly yes (what docs/deployment.md requires), in a temp folder. */
export async function startRedis(): Promise<PrivateRedis> {
  const dir = mkdtempSync(join(tmpdir(), "updraft-redis-"));
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--appendonly", "yes", "--save", ""],
      { stdio: "ignore" },
    );
    await until(`redis on ${port}`, 10_000, async () => ((await ping(port)) ? true : undefined), 50);
  };
  const stop = async () => {
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child!.once("exit", resolve));
    child.kill("SIGTERM"); // Redis's SIGTERM is a SHUTDOWN: the AOF is flushed
    await exited;
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async restart(downMs = 1_000) {
      await stop();
      await new Promise((r) => setTimeout(r, downMs));
      await start();
    },
    async stop() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function ping(port: number): Promise<boolean> {
  const { Socket } = await import("node:net");
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once("error", () => done(false));
    socket.connect(port, "127.0.0.1", () => socket.write("PING\r\n"));
    socket.once("data", (d) => done(d.toString().startsWith("+PONG")));
  });
}

export interface Cluster {
  dags: string;
  apiUrl: string;
  controlEnv: Record<string, string>;
  startScheduler(): ServiceProcess;
  startWebserver(): Promise<ServiceProcess>;
  /** A worker with a home of its own (`dags` copied into it); `detached`: leads its own process group. */
  startWorker(
    name: string,
    o?: { queues?: string; concurrency?: number; env?: Record<string, string> },
  ): Promise<ServiceProcess>;
  /** The try token secret's source: the control home's updraft.toml (as the scheduler reads it). */
  secretKey(): string;
  stopAll(): Promise<void>;
  /** The last lines of every service's log (for a failing test's message). */
  tails(): string;
}

export function cluster(
  databaseUrl: string,
  redis: PrivateRedis,
  o: { workerTimeout?: number; env?: Record<string, string> } = {},
): Cluster {
  const workerTimeout = String(o.workerTimeout ?? 4);
  const prefix = `t${Date.now().toString(36)}`;
  const port = { value: 0 };
  const control = updraftHome(databaseUrl, {
    UPDRAFT__CORE__EXECUTOR: "bullmq",
    UPDRAFT__CORE__DAGS_ARE_PAUSED_AT_CREATION: "false",
    UPDRAFT__BULLMQ__REDIS_URL: redis.url,
    UPDRAFT__BULLMQ__KEY_PREFIX: prefix,
    UPDRAFT__BULLMQ__WORKER_TIMEOUT: workerTimeout,
    UPDRAFT__DAG_PROCESSOR__REFRESH_INTERVAL: "2",
    ...o.env,
  });
  const services: ServiceProcess[] = [];
  const homes: string[] = [control.home];
  const apiUrl = () => `http://127.0.0.1:${port.value}`;
  return {
    dags: control.dags,
    get apiUrl() {
      return apiUrl();
    },
    controlEnv: control.env,
    startScheduler() {
      const s = startService(["scheduler"], control.env, { detached: true });
      services.push(s);
      return s;
    },
    async startWebserver() {
      port.value ||= await freePort();
      const s = startService(["webserver", "--port", String(port.value)], control.env, { detached: true });
      services.push(s);
      await s.waitFor(/webserver listening/, 30_000);
      return s;
    },
    async startWorker(name, o = {}) {
      port.value ||= await freePort();
      const home = mkdtempSync(join(tmpdir(), `updraft-worker-${name}-`));
      homes.push(home);
      mkdirSync(join(home, "dags"));
      for (const file of readdirSync(control.dags))
        writeFileSync(join(home, "dags", file), readFileSync(join(control.dags, file)));
      // Only what a worker machine would have: no database URL, no key of any kind.
      const env: Record<string, string> = {};
      for (const [k, v] of Object.entries(process.env))
        if (v !== undefined && !k.startsWith("UPDRAFT")) env[k] = v;
      Object.assign(env, {
        UPDRAFT_HOME: home,
        UPDRAFT__CORE__DAGS_FOLDER: join(home, "dags"),
        UPDRAFT__CORE__EXECUTION_API_SERVER_URL: `${apiUrl()}/execution/`,
        UPDRAFT__BULLMQ__REDIS_URL: redis.url,
        UPDRAFT__BULLMQ__KEY_PREFIX: prefix,
        UPDRAFT__BULLMQ__WORKER_TIMEOUT: workerTimeout,
        UPDRAFT__LOGGING__LEVEL: "info",
        ...o.env,
      });
      const args = [
        "worker",
        "--hostname",
        name,
        "--queues",
        o.queues ?? "default",
        "--concurrency",
        String(o.concurrency ?? 4),
      ];
      const s = startService(args, env, { detached: true });
      services.push(s);
      await s.waitFor(/worker started/, 30_000);
      return s;
    },
    secretKey() {
      const text = readFileSync(join(control.home, "updraft.toml"), "utf8");
      return /^secret_key = "([^"]+)"/m.exec(text)?.[1] ?? "";
    },
    tails() {
      return services
        .map(
          (s, i) =>
            `--- service ${i} (${s.child.spawnargs.slice(2, 3).join(" ")}, alive ${s.alive()})\n${s.lines
              .slice(-12)
              .map((l) => `${l.msg} ${l.err ? JSON.stringify(l.err).slice(0, 300) : ""}`)
              .join("\n")}\n${s.other.slice(-10).join("\n")}`,
        )
        .join("\n");
    },
    async stopAll() {
      await Promise.all(services.map((s) => s.stop(10_000)));
      for (const h of homes) if (existsSync(h)) rmSync(h, { recursive: true, force: true });
    },
  };
}
