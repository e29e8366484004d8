/**
 * Celery (Debian's python3-celery, the engine behind Airflow's CeleryExecutor) on the local Redis as
 * broker and result backend: fan-in with a chord, chains with chain(). A worker process (prefork
 * pool; threads for the memory workload, where 1,000 tasks must sleep at once) and a Python driver
 * that builds the canvas and waits for the results; the harness talks to the driver over stdin.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { Redis } from "ioredis";
import { fileURLToPath } from "node:url";
import { REDIS_URL, log } from "../util.ts";
import type { Peer, Times } from "../workloads.ts";

const DIR = fileURLToPath(new URL("../../celery/", import.meta.url));
/** Debian's python3-celery installs for the system Python, not a pyenv or venv one on PATH. */
const PYTHON = process.env.BENCH_PYTHON ?? "/usr/bin/python3";
const PREFORK = Number(process.env.BENCH_CELERY_PREFORK ?? 8);

export function celeryPeer(): Peer {
  let worker: ChildProcess | undefined;
  let driver: ChildProcess | undefined;
  let answers: ((line: string) => void)[] = [];
  let redis: Redis | undefined;
  const env = { ...process.env, BENCH_REDIS_URL: REDIS_URL, PYTHONDONTWRITEBYTECODE: "1" };

  const ask = (cmd: object): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      answers.push((line) => {
        const out = JSON.parse(line) as Record<string, unknown>;
        if (out.ok) resolve(out);
        else reject(new Error(`Celery driver: ${out.error}`));
      });
      driver!.stdin!.write(JSON.stringify(cmd) + "\n");
    });

  return {
    name: "Celery",
    backend: "redis",
    durable: false,
    how: `Debian python3-celery; chain(first, chord(group(fan-out), last)), chain(); prefork pool of ${PREFORK} (threads for memory)`,
    async setup(spec, concurrency) {
      ensureCelery();
      execFileSync(PYTHON, ["-m", "celery", "-A", "bench_tasks", "purge", "-f"], {
        cwd: DIR,
        env,
        stdio: "pipe",
      });
      const pool =
        spec.name === "memory"
          ? ["--pool", "threads", "--concurrency", String(concurrency)]
          : ["--pool", "prefork", "--concurrency", String(Math.min(PREFORK, concurrency))];
      worker = spawn(
        PYTHON,
        [
          "-m",
          "celery",
          "-A",
          "bench_tasks",
          "worker",
          ...pool,
          "--loglevel",
          "WARNING",
          "--without-gossip",
          "--without-mingle",
          "--without-heartbeat",
          "-n",
          `bench${process.pid}@%h`,
        ],
        { cwd: DIR, env, stdio: ["ignore", "ignore", "pipe"] },
      );
      worker.stderr!.on("data", (d: Buffer) => {
        const text = d.toString().trim();
        if (/error|Traceback/i.test(text)) log(`Celery worker: ${text.slice(0, 300)}`);
      });
      driver = spawn(PYTHON, ["driver.py"], { cwd: DIR, env, stdio: ["pipe", "pipe", "inherit"] });
      createInterface({ input: driver.stdout! }).on("line", (line) => answers.shift()?.(line));
      driver.once("exit", (code) => {
        const pending = answers;
        answers = [];
        for (const a of pending) a(JSON.stringify({ ok: false, error: `driver exited (${code})` }));
      });
    },
    async run(graphs, tag) {
      const out = await ask({ cmd: "run", graphs, tag });
      const times: Times = new Map();
      for (const [g, byIndex] of Object.entries(
        out.times as Record<string, Record<string, [number, number]>>,
      )) {
        const list: [number, number][] = [];
        for (const [i, t] of Object.entries(byIndex)) list[Number(i)] = t;
        times.set(g, list);
      }
      return { times };
    },
    async running() {
      // The driver is busy waiting for the run: read the tasks' counter straight from Redis.
      redis ??= new Redis(`${REDIS_URL}/3`);
      return Number((await redis.get("updraft_bench_celery:running")) ?? 0);
    },
    pids: () => (worker?.pid ? [worker.pid] : []),
    async teardown() {
      driver?.stdin?.end();
      if (worker && worker.exitCode === null) {
        worker.kill("SIGTERM");
        await new Promise((r) => {
          const t = setTimeout(() => (worker!.kill("SIGKILL"), r(null)), 8000);
          worker!.once("exit", () => (clearTimeout(t), r(null)));
        });
      }
      driver?.kill();
      redis?.disconnect();
    },
  };
}

/**
 * Celery comes from Debian's packages (the npm registry has none): installed here when missing and
 * the harness runs as root, as on CI machines; otherwise the row fails with the command to run.
 */
function ensureCelery(): void {
  const present = () => {
    try {
      execFileSync(PYTHON, ["-c", "import celery, redis"], { stdio: "pipe" });
      return true;
    } catch {
      return false;
    }
  };
  if (present()) return;
  const command = "apt-get install -y -q python3-celery python3-redis";
  if (process.getuid?.() === 0) {
    console.error(`[celery] not installed: ${command}`);
    try {
      execFileSync("bash", ["-c", `DEBIAN_FRONTEND=noninteractive ${command}`], { stdio: "ignore" });
    } catch {
      // reported below
    }
    if (present()) return;
  }
  throw new Error(`Celery is not installed: run \`${command}\``);
}
