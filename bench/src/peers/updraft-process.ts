/**
 * Updraft as a user runs it: a real `updraft scheduler` process (the installed entry point, default
 * settings, task logs written and compressed as configured) on SQLite, PostgreSQL or MySQL/MariaDB.
 * The bench process triggers runs in the metadata database as the REST API does (the operation
 * `triggerDagRun`, which wakes the schedulers), and reads the scheduler's
 * `updraft_database_statements_total` from its /metrics before and after each run: the round trips
 * per task instance.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { triggerDagRun } from "../../../packages/updraft/src/operations/trigger-run.ts";
import { openDatabase, type Database } from "../../../packages/updraft/src/storage/database.ts";
import { poolStore } from "../../../packages/updraft/src/storage/pools.ts";
import {
  dropDatabase,
  dropMysqlDatabase,
  freshDatabase,
  freshMysqlDatabase,
  log,
  sleep,
  waitFor,
} from "../util.ts";
import type { Graph, Peer, RunResult, Times, WorkloadSpec } from "../workloads.ts";
import { taskCount } from "../workloads.ts";
import { dagFile } from "./updraft.ts";

const BIN = fileURLToPath(new URL("../../../packages/updraft/bin/updraft.js", import.meta.url));
/**
 * `updraft` runs as a user's shell runs it: the bin itself, so the Node flags of its `#!` line
 * apply, with this Node first on PATH.
 */
const pathWithThisNode = (env: NodeJS.ProcessEnv) => ({
  ...env,
  PATH: `${dirname(process.execPath)}${delimiter}${env.PATH ?? ""}`,
});
const DATABASE_NAME = "updraft_bench";

export type Backend = "sqlite" | "postgres" | "mysql";

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

function run(args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, args, { env: pathWithThisNode(env), stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) =>
      code === 0 ? resolve() : reject(new Error(`updraft ${args.join(" ")} exited ${code}: ${stderr}`)),
    );
  });
}

export function updraftProcessPeer(backend: Backend): Peer {
  let home = "";
  let database: Database | undefined;
  let scheduler: ChildProcess | undefined;
  let metricsPort = 0;

  async function statements(): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const line = text.split("\n").find((l) => l.startsWith("updraft_database_statements_total"));
    if (!line) throw new Error("the scheduler's /metrics has no updraft_database_statements_total");
    return Number(line.slice(line.lastIndexOf(" ") + 1));
  }

  return {
    name: "Updraft",
    backend,
    durable: true,
    how: "an `updraft scheduler` process with default settings (task logs written and compressed); runs triggered with the trigger operation the REST API uses; TypeScript no-op tasks in its TaskFlow worker pool, bash tasks through its bash runner",
    async setup(spec: WorkloadSpec, concurrency: number) {
      home = mkdtempSync(join(tmpdir(), "updraft-bench-"));
      const dags = join(home, "dags");
      mkdirSync(dags);
      for (const g of spec.graphs) writeFileSync(join(dags, `${g.id}.ts`), dagFile(g, concurrency));
      const url =
        backend === "sqlite"
          ? `sqlite:///${join(home, "updraft.db")}`
          : backend === "postgres"
            ? await freshDatabase(DATABASE_NAME)
            : await freshMysqlDatabase(DATABASE_NAME);
      metricsPort = await freePort();
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        UPDRAFT_HOME: home,
        UPDRAFT__DATABASE__URL: url,
        UPDRAFT__CORE__DAGS_FOLDER: dags,
        UPDRAFT__CORE__LOAD_EXAMPLES: "false",
        UPDRAFT__CORE__DAGS_ARE_PAUSED_AT_CREATION: "false",
        UPDRAFT__CORE__PARALLELISM: String(concurrency),
        UPDRAFT__CORE__MAX_ACTIVE_TASKS_PER_DAG: String(concurrency),
        UPDRAFT__METRICS__SCHEDULER_PORT: String(metricsPort),
        UPDRAFT__METRICS__BEARER_TOKEN: "",
      };
      // BENCH_SCHEDULER_NODE_OPTIONS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the scheduler.
      const schedulerEnv = process.env.BENCH_SCHEDULER_NODE_OPTIONS
        ? { ...env, NODE_OPTIONS: process.env.BENCH_SCHEDULER_NODE_OPTIONS }
        : env;
      await run(["db", "migrate"], env);
      database = openDatabase(url);
      // default_pool has 128 slots: the memory workload runs more at once.
      await poolStore(database).set({ name: "default_pool", slots: Math.max(128, concurrency) });
      scheduler = spawn(BIN, ["scheduler"], {
        env: pathWithThisNode(schedulerEnv),
        stdio: ["ignore", "ignore", "pipe"],
      });
      let stderr = "";
      scheduler.stderr!.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
      scheduler.on("exit", (code, signal) => {
        if (scheduler) log(`updraft scheduler exited (${code ?? signal}): ${stderr}`);
      });
      const db = database;
      await waitFor(
        "the scheduler to parse the DAG files",
        async () => {
          const row = await db.db
            .selectFrom("dag")
            .select((eb) => eb.fn.countAll<number>().as("n"))
            .where("is_paused", "=", 0)
            .executeTakeFirstOrThrow();
          return Number(row.n) === spec.graphs.length;
        },
        120_000,
        100,
      );
      await waitFor(
        "the scheduler's /metrics",
        () =>
          statements().then(
            () => true,
            () => false,
          ),
        30_000,
      );
    },
    async run(graphs: Graph[], tag: string): Promise<RunResult> {
      const db = database!;
      const before = await statements();
      const runs = await Promise.all(
        graphs.map((g) => triggerDagRun(db, { dagId: g.id, runId: `bench_${tag}` })),
      );
      const ids = runs.map((r) => r.id);
      for (;;) {
        const states = await db.db.selectFrom("dag_run").select(["state"]).where("id", "in", ids).execute();
        if (states.some((s) => s.state === "failed")) throw new Error("an Updraft DAG run failed");
        if (states.every((s) => s.state === "success")) break;
        await sleep(5);
      }
      const result: RunResult = { statements: (await statements()) - before };
      if (graphs.length !== 1 || graphs[0]!.shape.kind !== "chain") return result;
      const g = graphs[0]!;
      const rows = await db.db
        .selectFrom("task_instance")
        .select(["task_id", "start_date", "end_date"])
        .where("dag_run_id", "=", runs[0]!.id)
        .execute();
      const list: [number, number][] = new Array(taskCount(g.shape));
      for (const r of rows)
        list[Number(r.task_id.slice(1))] = [Date.parse(r.start_date!), Date.parse(r.end_date!)];
      const times: Times = new Map([[g.id, list]]);
      return { ...result, times };
    },
    async running() {
      const row = await database!.db
        .selectFrom("task_instance")
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .where("state", "=", "running")
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
    pids: () => (scheduler?.pid ? [scheduler.pid] : []),
    outOfProcess: true,
    async teardown() {
      try {
        const child = scheduler;
        scheduler = undefined;
        if (child && child.exitCode === null) {
          const exited = new Promise((r) => child.once("exit", r));
          child.kill("SIGTERM");
          await Promise.race([exited, sleep(20_000)]);
          if (child.exitCode === null) child.kill("SIGKILL");
        }
        await database?.close();
      } finally {
        if (home) rmSync(home, { recursive: true, force: true });
        if (backend === "postgres")
          await dropDatabase(DATABASE_NAME).catch((e) => log(`drop ${DATABASE_NAME}: ${e}`));
        if (backend === "mysql")
          await dropMysqlDatabase(DATABASE_NAME).catch((e) => log(`drop ${DATABASE_NAME}: ${e}`));
      }
    },
  };
}
